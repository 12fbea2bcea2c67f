// What every bench run stands on: a 720p 10 fps clip (made once from the demo clip and cached), a
// real GStreamer RTSP server serving it as N mounts, and a real mosquitto.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRtspServer, type RtspServer } from '../helpers/rtsp.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import type { Infra } from './systems.js';

const execFileP = promisify(execFile);

/** The demo clip (640x480, 40 faces × 1 s) scaled and pillarboxed to 1280x720, H.264 baseline, GOP 10. */
export async function clip720(root: string): Promise<string> {
  const dir = join(tmpdir(), 'mobilenet-edge-bench');
  const out = join(dir, 'demo720.mp4');
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  await execFileP('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', join(root, 'models/demo/demo.mp4'),
    '-vf', 'scale=960:720,pad=1280:720:160:0,fps=10,format=yuv420p', '-c:v', 'libx264', '-preset', 'veryfast',
    '-profile:v', 'baseline', '-g', '10', '-an', `${out}.tmp.mp4`]);
  await execFileP('mv', [`${out}.tmp.mp4`, out]);
  return out;
}

/**
 * The crowd clip, built from the repo's own scene photos (test/fixtures/scenes, licences there): a
 * 1280x720 frame holding the masked crowd (linzaer-masked-img7), the party (coral-face) and the family
 * (linzaer-imgs-19) on a grey ground, each drifting a few pixels (so frames differ, as a camera's do),
 * 10 s at 10 fps, H.264 baseline, GOP 10. The bundled detector finds about 13 faces a frame.
 */
export async function crowdClip(root: string): Promise<string> {
  const dir = join(tmpdir(), 'mobilenet-edge-bench');
  const out = join(dir, 'crowd720.mp4');
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const scene = (f: string) => ['-loop', '1', '-framerate', '10', '-i', join(root, 'test/fixtures/scenes', f)];
  await execFileP('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y',
    ...scene('linzaer-masked-img7.jpg'), ...scene('coral-face.jpg'), ...scene('linzaer-imgs-19.jpg'),
    '-f', 'lavfi', '-i', 'color=c=0x303030:s=1280x720:r=10',
    '-filter_complex', "[0]scale=800:-2[a];[1]scale=460:-2[b];[2]scale=460:-2[c];[3][a]overlay=x='10+10*sin(2*PI*t/5)':y=80:shortest=1[t1];[t1][b]overlay=x=810:y='12+8*sin(2*PI*t/4)'[t2];[t2][c]overlay=x='810+6*sin(2*PI*t/3)':y=370,format=yuv420p",
    '-t', '10', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'baseline', '-g', '10', '-an', `${out}.tmp.mp4`]);
  await execFileP('mv', [`${out}.tmp.mp4`, out]);
  return out;
}

export interface Running extends Infra {
  rtsp: RtspServer;
  broker: Mosquitto;
  stop(): Promise<void>;
}

export async function startInfra(root: string, clip: string, mounts: number): Promise<Running> {
  const m: Record<string, string> = {};
  for (let i = 1; i <= mounts; i++) m[`/cam${i}`] = clip;
  const rtsp = await startRtspServer({ mounts: m });
  const broker = await startMosquitto();
  return {
    root, rtsp, broker,
    rtspUrl: (i) => rtsp.url(`/cam${i}`),
    rtspPid: rtsp.proc.pid!,
    mqttPort: broker.port,
    brokerPid: broker.proc.pid!,
    async stop() {
      await rtsp.stop();
      await broker.stop();
    },
  };
}

export function machine(): string {
  const os = (() => {
    try {
      return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
    } catch {
      return 'Linux';
    }
  })();
  const mem = (() => {
    try {
      return Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1048576);
    } catch {
      return 0;
    }
  })();
  return `${cpus().length}× ${cpus()[0]?.model.trim() ?? 'CPU'}, ${mem} GiB, ${os}, Node ${process.version}`;
}
