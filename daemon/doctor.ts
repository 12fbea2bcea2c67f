#!/usr/bin/env node
// npm run device-check (mobilenet-edge-doctor): which execution providers really run on this
// device, how fast the model is on each, whether the TensorRT engine cache is written and reused.
// Exit 0 when the expected provider (--expect, default: the first the config lists) runs as asked,
// 1 otherwise, 64 on bad usage.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { modelFileFor } from '../models/manifest.js';
import { readManifest } from '../models/manifest-file.js';
import { packageRoot as findPackageRoot } from '../models/paths.js';
import { defaultWorkerCommand, EngineWorker } from '../pipelines/engines/client.js';
import { detectTensorRtVersion, listEngineCaches, withEngineCaches } from '../pipelines/engines/onnxruntime/engine-cache.js';
import { toSpecs, type ProviderSpec } from '../pipelines/engines/onnxruntime/providers.js';
import { ConfigError, DEFAULT_MODEL, loadConfig } from './config/config.js';
import { simdAvailable } from '../pipelines/pre/yuv-tensor-wasm.js';
import { formatReport, verdict, type DecoderCheck, type ProviderCheck } from './doctor-report.js';
import { spawnSync } from 'node:child_process';

const USAGE = `usage: npm run device-check -- [--config FILE] [--model model.json] [--detector model.json] [--expect PROVIDER] [--runs N] [--json]`;

/** The face detector on the same provider as the classifier: faces requests on a 640x480 frame, timed. */
interface DetectorAsk {
  manifestPath: string;
  model: string;
  provider: string | { name: string; [k: string]: unknown };
}

/** Whether the Jetson hardware decoder path (gstreamer-nv) can run: its two GStreamer elements. */
function decoderCheck(configured: boolean): DecoderCheck {
  const missing = ['nvv4l2decoder', 'nvvidconv'].filter((el) => spawnSync('gst-inspect-1.0', ['--exists', el]).status !== 0);
  const noGst = spawnSync('gst-inspect-1.0', ['--version']).error;
  return { decoder: 'gstreamer-nv', configured, ok: !noGst && !missing.length, reason: noGst ? 'gst-inspect-1.0 not found (install gstreamer1.0-tools)' : missing.length ? `GStreamer elements missing: ${missing.join(', ')} (JetPack's nvidia-l4t-gstreamer)` : 'nvv4l2decoder and nvvidconv present' };
}

async function check(engine: 'onnxruntime' | 'edgetpu', provider: string | { name: string; [k: string]: unknown }, manifestPath: string, runs: number, width: number, height: number, detector?: DetectorAsk): Promise<ProviderCheck> {
  const asked = typeof provider === 'string' ? provider : provider.name;
  const w = new EngineWorker({ command: defaultWorkerCommand(engine), helloTimeoutMs: 60_000, loadTimeoutMs: 30 * 60_000, buildTimeoutMs: 60 * 60_000, inferTimeoutMs: 60_000 });
  const c: ProviderCheck = { engine, asked, ran: null, warnings: [] };
  try {
    await w.start();
    const loaded = await w.load(manifestPath, [provider]);
    c.ran = loaded.provider;
    c.loadMs = loaded.loadMs;
    c.warnings = loaded.warnings ?? [];
    const frame = Buffer.alloc(width * height * 3, 64);
    for (let i = 0; i < 5; i++) await w.infer(frame, width, height);
    c.timesMs = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await w.infer(frame, width, height);
      c.timesMs.push(performance.now() - t0); // round trip through the protocol, as the daemon sees it
    }
    if (detector) {
      c.detector = { model: detector.model, ran: null };
      try {
        const d = await w.loadDetector(detector.manifestPath, [detector.provider]);
        Object.assign(c.detector, { ran: d.provider, loadMs: d.loadMs, timesMs: [] });
        const big = Buffer.alloc(640 * 480 * 3, 96);
        for (let i = 0; i < 3; i++) await w.faces(big, 640, 480);
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          await w.faces(big, 640, 480);
          c.detector.timesMs!.push(performance.now() - t0);
        }
      } catch (e) {
        c.detector.reason = (e as Error).message.replace(/^no execution provider could run the model: [^:]+: /, '');
      }
    }
  } catch (e) {
    c.reason = (e as Error).message.replace(/^no execution provider could run the model: [^:]+: /, '');
  } finally {
    await w.stop(2000);
  }
  return c;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, model: { type: 'string' }, detector: { type: 'string' }, expect: { type: 'string' }, runs: { type: 'string', default: '50' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) return process.stdout.write(USAGE + '\n'), 0;
  // with --config: its model and providers (options included); without: the bundled model, cpu
  const config = values.config ? loadConfig({ file: values.config, env: process.env, packageRoot: findPackageRoot() }) : null;
  const manifestPath = values.model ?? config?.model.path ?? join(findPackageRoot(), DEFAULT_MODEL);
  const manifest = await readManifest(manifestPath);
  const runs = Math.max(1, Number(values.runs) || 50);
  const { width, height } = manifest.input;

  // the configured providers (with their options), then any of cpu/cuda/tensorrt not configured
  const configured: ProviderSpec[] = toSpecs(config?.engine.executionProviders ?? ['cpu']);
  const all = [...configured, ...(['tensorrt', 'cuda', 'cpu'] as const).filter((n) => !configured.some((s) => s.name === n)).map((name) => ({ name, options: {} }))];
  const checks: ProviderCheck[] = [];
  const cacheProblems: string[] = [];
  const onnx = modelFileFor(manifest, 'onnxruntime');
  if (onnx) {
    const trtVersion = detectTensorRtVersion();
    const requests = withEngineCaches(all, onnx.sha256, trtVersion);
    // the detector: --detector, or the config's when a camera is in faces mode; its own cache key
    const detPath = values.detector ?? (config?.cameras.some((c) => c.mode === 'faces') ? config.faces.detector : undefined);
    const det = detPath ? await readManifest(detPath) : null;
    const detRequests = det ? withEngineCaches(all, modelFileFor(det, 'onnxruntime')?.sha256 ?? det.sha256, trtVersion) : [];
    for (const [i, r] of requests.entries()) {
      process.stderr.write(`checking onnxruntime ${r.name}${det ? ' (+ detector)' : ''} ...\n`);
      const c = await check('onnxruntime', r, manifestPath, runs, width, height, det && detPath ? { manifestPath: detPath, model: det.name, provider: detRequests[i] } : undefined);
      checks.push(c);
      // engine cache: written by the first load, reused (no rebuild, faster load) by the second
      if (r.name === 'tensorrt' && c.ran === 'tensorrt' && typeof r.engineCachePath === 'string') {
        const entry = listEngineCaches(String(r.engineCacheDir)).find((e) => e.path === r.engineCachePath);
        if (!entry?.files.length) cacheProblems.push(`TensorRT engine cache ${r.engineCachePath} is empty after a load`);
        else {
          const again = await check('onnxruntime', r, manifestPath, 1, width, height);
          const before = entry.files.map((f) => f.name).join(',');
          const after = listEngineCaches(String(r.engineCacheDir)).find((e) => e.path === r.engineCachePath)?.files.map((f) => f.name).join(',');
          if (before !== after) cacheProblems.push(`TensorRT engine cache changed on a second load (engine rebuilt?): ${before} → ${after}`);
          process.stderr.write(`engine cache ${r.engineCachePath}: ${before}; first load ${Math.round(c.loadMs ?? 0)} ms, second ${Math.round(again.loadMs ?? 0)} ms (TensorRT ${trtVersion})\n`);
        }
      }
    }
  }
  if (modelFileFor(manifest, 'edgetpu') || modelFileFor(manifest, 'tflite')) {
    for (const p of ['edgetpu', 'cpu']) {
      process.stderr.write(`checking edgetpu worker ${p} ...\n`);
      checks.push(await check('edgetpu', p, manifestPath, runs, width, height));
    }
  }
  const decoders = [decoderCheck(config?.cameras.some((c) => c.decoder === 'gstreamer-nv') ?? false)];
  const expected = values.expect ?? configured[0].name;
  const v = verdict(checks, expected, cacheProblems, decoders);
  const simd = simdAvailable(); // the detector input's WebAssembly kernels (D149)
  if (values.json) process.stdout.write(JSON.stringify({ model: manifestPath, checks, decoders, simd, verdict: v }, null, 2) + '\n');
  else for (const l of formatReport(manifestPath, checks, v, expected, decoders, simd)) process.stdout.write(l + '\n');
  return v.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof ConfigError) for (const p of e.problems) process.stderr.write(`config error: ${p.path}: ${p.message}\n`);
    else process.stderr.write(`device-check: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(e instanceof ConfigError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 64 : 1);
  },
);
