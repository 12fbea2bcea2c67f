// The model swap under load: the daemon (in this process, so the bench can call the swap the OTA
// path calls, ModelSwap.swapTo) on N cameras; halfway through, swap to the bundled model's manifest
// (a fresh standby worker loads, warms up, passes its test vectors, takes over). Results per second
// and frames the pipeline could not classify, over the whole window.
import { join } from 'node:path';
import { startApp } from '../../daemon/app.js';
import { loadConfig } from '../../daemon/config/config.js';
import { createLogger } from '../../daemon/log.js';
import { daemonConfig, Subscriber, type Infra } from './systems.js';

export interface SwapResult {
  cameras: number;
  swapMs: number;
  /** Frames failed by the pipeline over the whole window (report of the swap + pipeline counters). */
  unclassified: number;
  perSecond: number[];
  minPerSec: number;
  expectedPerSec: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function swapUnderLoad(infra: Infra, n: number, fps: number, seconds: number): Promise<SwapResult> {
  const file = daemonConfig(infra, n, fps);
  const config = loadConfig({ file, env: {}, packageRoot: infra.root });
  const app = await startApp(config, createLogger('warn'));
  const sub = new Subscriber();
  await sub.start(infra.mqttPort, 'bench/+/mask');
  try {
    const t0 = Date.now();
    while (sub.counts.size < n && Date.now() - t0 < 60_000) await sleep(100);
    await sleep(2000);
    const failed0 = app.pipeline.frameCounts().failed;
    const perSecond: number[] = [];
    let swapMs = 0;
    let swapUnclassified = 0;
    let swapping: Promise<void> | null = null;
    for (let s = 0; s < seconds; s++) {
      sub.reset();
      if (s === Math.floor(seconds / 3))
        swapping = app.swap.swapTo(join(infra.root, 'models/mask-mobilenet/model.json')).then((r) => {
          swapMs = r.ms;
          swapUnclassified = r.unclassified;
        });
      await sleep(1000);
      perSecond.push([...sub.counts.values()].reduce((a, b) => a + b, 0));
    }
    await swapping;
    const unclassified = Math.max(swapUnclassified, app.pipeline.frameCounts().failed - failed0);
    return { cameras: n, swapMs, unclassified, perSecond, minPerSec: Math.min(...perSecond), expectedPerSec: n * fps };
  } finally {
    await sub.stop();
    await app.stop();
  }
}
