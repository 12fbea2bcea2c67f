// Intervals on the monotonic clock (D165): a board without a battery-backed clock has its wall clock
// stepped by NTP after boot, by months. Here the wall clock is stepped inside this process (Date.now
// replaced for a while): a real decoder stand-in writes frames through a real FIFO and the frame
// reader's thread, and the source must neither take the step for a stalled camera nor miss a camera
// that stalls while the clock is stepped back. The watchdog must not take the step for an outage.
import t from 'tap';
import { EventEmitter } from 'node:events';
import { sharedFrames } from '../helpers/frames.js';
import { latencyMs, monoMs } from '../../pipelines/clock.js';
import { ProcessSource, type Frame } from '../../pipelines/sources/process-source.js';
import { Watchdog } from '../../daemon/watchdog.js';
import type { WatchdogConfig } from '../../daemon/config/watchdog.js';
import type { Engine } from '../../pipelines/engines/engine.js';
import type { MqttLink } from '../../daemon/mqtt/link.js';
import type { Pipeline } from '../../pipelines/pipeline.js';
import { createLogger } from '../../daemon/log.js';
import { realWallMs, stepWallClock, YEAR_MS as YEAR } from '../helpers/wall-clock.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A decoder stand-in: one 4x4 RGB frame (48 bytes) every PERIOD ms, forever.
const PERIOD = 1500;
const WRITER = `
const fs = require('node:fs');
const fd = fs.openSync(process.argv[1], 'w');
const frame = Buffer.alloc(48, 7);
const tick = () => { fs.writeSync(fd, frame); setTimeout(tick, ${PERIOD}); };
tick();
`;

t.test('monoMs: frames stamped by the frame reader compare with the rest of the supervisor\'s clock', async (t) => {
  t.equal(latencyMs({ mono: 10 }, 22.6), 13, 'whole ms, rounded');
  const src = new ProcessSource({ id: 'cam', width: 4, height: 4, stallSec: 30, restartMinMs: 50, restartMaxMs: 50, runDir: t.testdir({}), frames: sharedFrames(t) }, (out) => ({ path: process.execPath, args: ['-e', WRITER, out] }));
  const lags: number[] = [];
  src.on('frame', (f: Frame) => {
    lags.push(monoMs() - f.mono);
    f.release();
  });
  src.start();
  t.teardown(() => src.stop());
  const t0 = monoMs();
  while (lags.length < 2 && monoMs() - t0 < 10_000) await sleep(20);
  t.equal(lags.length, 2, 'two frames');
  t.ok(lags.every((l) => l >= 0 && l < 1000), `stamped just before they reached the main thread (${lags.map((l) => l.toFixed(2)).join(', ')} ms)`);
});

/** A source on the stand-in decoder (stallSec 5: the check runs every second; a frame comes every 1.5 s). */
function source(t: Test, onFrame: (n: number) => void): ProcessSource {
  const src = new ProcessSource({ id: 'cam', width: 4, height: 4, stallSec: 5, restartMinMs: 50, restartMaxMs: 50, runDir: t.testdir({}), frames: sharedFrames(t) }, (out) => ({ path: process.execPath, args: ['-e', WRITER, out] }));
  let n = 0;
  src.on('frame', (f: Frame) => {
    f.release();
    onFrame(++n);
  });
  src.start();
  t.teardown(() => src.stop());
  return src;
}

async function until(done: () => boolean, ms: number): Promise<void> {
  const t0 = monoMs();
  while (!done() && monoMs() - t0 < ms) await sleep(50);
}

t.test('a decoder: a step of the wall clock forward is not a stall', async (t) => {
  let frames = 0;
  const src = source(t, (n) => {
    frames = n;
    // a year forward, right after a frame: the next stall check comes before the next frame
    if (n === 2) stepWallClock(t, YEAR);
  });
  await until(() => frames >= 5, 20_000);
  t.equal(frames, 5, 'frames went on after the step');
  t.equal(src.restarts, 0, `no restart: ${src.status().lastError ?? 'no error'}`);
});

t.test('a decoder that stalls while the wall clock steps back is restarted', async (t) => {
  let frames = 0;
  const src = source(t, (n) => void (frames = n));
  await until(() => frames >= 2, 20_000);
  t.equal(frames, 2, 'frames came');
  // the decoder freezes, then the clock steps back a year (to before its last frame)
  process.kill(src.pid!, 'SIGSTOP');
  stepWallClock(t, -YEAR);
  await until(() => src.restarts > 0, 15_000);
  t.equal(src.restarts, 1, 'the stalled decoder was restarted');
  t.match(src.status().lastError, /no frame for 5 s/);
});

t.test('the watchdog: a step of the wall clock while the engine starts is not an outage', async (t) => {
  const engine = Object.assign(new EventEmitter(), { ready: false, state: 'starting', restarts: 0, errors: 0, lastError: null, pid: undefined, loaded: null, detectorLoaded: null, building: null, size: 1 }) as unknown as Engine;
  const pipeline = { stats: () => ({}), sources: new Map() } as unknown as Pipeline;
  const published: string[] = [];
  const mqtt = { stats: { connected: true, published: 0, dropped: 0, reconnects: 0, denied: 0, lastError: null }, outbox: null, publishRetained: (_topic: string, payload: string) => published.push(payload) } as unknown as MqttLink;
  const cfg = { budgetRestarts: 5, budgetWindowSec: 60, healthyResetSec: 30, engineDownSec: 20, healthIntervalSec: 30, readyTimeoutSec: 60 } as WatchdogConfig;
  const wd = new Watchdog(cfg, { pipeline, engine, mqtt, healthTopic: 'site/health' }, createLogger('error', () => undefined), {});
  t.equal(wd.tick().healthy, true, 'starting: healthy');
  stepWallClock(t, YEAR);
  const r = wd.tick();
  t.equal(r.healthy, true, `a year later on the wall clock, the engine has been starting for a moment, not a year: ${r.reasons.join('; ')}`);
  t.equal(r.uptimeSec, 0, 'uptime is not a year');
  t.ok(Math.abs(Date.parse(r.ts) - (realWallMs() + YEAR)) < 5000, 'the report is stamped with the wall clock');
});
