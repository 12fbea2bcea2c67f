/**
 * The system ffmpeg (/usr/bin/ffmpeg, 5.1) as an RTSP frame reader and a test-clip maker.
 *
 *   const r = await readFrames(cam.url('/cam1'), { seconds: 5 });   // 160x120 rgb24 by default
 *   r.frames.length; r.frames[0].length === 160 * 120 * 3
 *
 *   const live = startFrameReader(url);   // runs until stop(); live.count() grows
 *   ...; const r = await live.stop();
 */
import { execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promisify } from 'node:util';
import { Tail, spawnTied } from './proc.js';

export const FFMPEG = '/usr/bin/ffmpeg';
export const FFPROBE = '/usr/bin/ffprobe';
const execFileP = promisify(execFile);

export interface FrameReaderOptions {
  width?: number; // default 160
  height?: number; // default 120
  /** Stop after this many seconds of stream (ffmpeg -t); default: run until stop(). */
  seconds?: number;
  /** Kill ffmpeg (SIGKILL) after this long; default (seconds + 15) s, or none without `seconds`. */
  timeoutMs?: number;
  /**
   * Input options, placed before -i. Default: `-rtsp_transport tcp -timeout 5000000 -probesize 32
   * -analyzeduration 0`. Note: adding `-fflags nobuffer` makes ffmpeg drop the packets it read while
   * probing, and so everything up to the next keyframe (up to one GOP).
   */
  inputArgs?: string[];
}

export interface FrameReaderResult {
  /** Complete frames, each exactly width*height*3 bytes (rgb24). */
  frames: Buffer[];
  /** Bytes after the last complete frame (0 unless ffmpeg was cut off mid-frame). */
  trailingBytes: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** ms from spawn to the first complete frame (undefined if none). */
  firstFrameMs?: number;
  stderr: string;
}

export interface FrameReader {
  proc: ChildProcessWithoutNullStreams;
  /** Complete frames so far. */
  count(): number;
  /** Resolves when ffmpeg exits by itself (or is killed). */
  done: Promise<FrameReaderResult>;
  /** SIGKILL (one SIGTERM does not stop an ffmpeg blocked in I/O) and the result. */
  stop(): Promise<FrameReaderResult>;
}

export const DEFAULT_RTSP_INPUT_ARGS = ['-rtsp_transport', 'tcp', '-timeout', '5000000', '-probesize', '32', '-analyzeduration', '0'];

export function startFrameReader(url: string, opts: FrameReaderOptions = {}): FrameReader {
  const width = opts.width ?? 160;
  const height = opts.height ?? 120;
  const frameBytes = width * height * 3;
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    ...(opts.inputArgs ?? DEFAULT_RTSP_INPUT_ARGS),
    '-i', url,
    ...(opts.seconds !== undefined ? ['-t', String(opts.seconds)] : []),
    '-an', '-vf', `scale=${width}:${height}`, '-fps_mode', 'passthrough',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
  const started = Date.now();
  const proc = spawnTied(FFMPEG, args);
  const stderr = new Tail();
  proc.stderr.on('data', (c: Buffer) => stderr.push(c));

  const frames: Buffer[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let firstFrameMs: number | undefined;
  proc.stdout.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes < frameBytes) return;
    let buf = Buffer.concat(pending, pendingBytes);
    while (buf.length >= frameBytes) {
      frames.push(Buffer.from(buf.subarray(0, frameBytes)));
      buf = buf.subarray(frameBytes);
    }
    firstFrameMs ??= Date.now() - started;
    pending = buf.length ? [buf] : [];
    pendingBytes = buf.length;
  });

  let timedOut = false;
  const timeoutMs = opts.timeoutMs ?? (opts.seconds !== undefined ? (opts.seconds + 15) * 1000 : undefined);
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);

  const done = new Promise<FrameReaderResult>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      resolve({ frames, trailingBytes: pendingBytes, code, signal, timedOut, firstFrameMs, stderr: stderr.toString() });
    };
    // 'close': stdout and stderr have been read to the end.
    proc.once('close', finish);
    proc.once('error', (err) => {
      stderr.push(`spawn error: ${err.message}`);
      finish(null, null);
    });
  });

  return {
    proc,
    count: () => frames.length,
    done,
    stop: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      return done;
    },
  };
}

/** Reads `seconds` of stream (or until ffmpeg exits) and returns the frames. */
export function readFrames(url: string, opts: FrameReaderOptions & { seconds: number }): Promise<FrameReaderResult> {
  return startFrameReader(url, opts).done;
}

/**
 * Writes a short H.264 test clip (ffmpeg's testsrc: a moving pattern with a frame counter, so every
 * frame differs) that the RTSP server can stream: libx264 baseline, yuv420p, a keyframe every `gop`
 * frames, no B-frames.
 */
export async function makeTestClip(
  file: string,
  opts: { seconds?: number; fps?: number; width?: number; height?: number; gop?: number } = {},
): Promise<void> {
  const { seconds = 2, fps = 10, width = 320, height = 240, gop = 10 } = opts;
  await execFileP(FFMPEG, [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
    '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', String(gop), '-bf', '0',
    '-x264-params', `keyint=${gop}:min-keyint=${gop}:scenecut=0`, '-an', file,
  ]);
}

/** ffprobe -count_frames: the number of decoded video frames in a file. */
export async function countFrames(file: string): Promise<number> {
  const { stdout } = await execFileP(FFPROBE, [
    '-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file,
  ]);
  return Number(stdout.trim());
}

/** Mean absolute difference of two equally long byte buffers (0 = identical, 255 = opposite). */
export function meanAbsDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`meanAbsDiff: lengths ${a.length} and ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}
