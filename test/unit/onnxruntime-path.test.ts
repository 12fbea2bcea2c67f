// MOBILENET_EDGE_ONNXRUNTIME: the engine worker loads onnxruntime-node from a folder outside
// node_modules (where deploy/jetson/build-onnxruntime.sh installs its CUDA/TensorRT build, out of
// `npm ci`'s reach). Here the folder is a copy of the npm package's JS with its binding folder linked
// in (the same binding: this machine has no GPU build), marked so the test sees which one ran.
import t from 'tap';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineWorker, defaultWorkerCommand } from '../../pipelines/engines/client.js';

const root = join(import.meta.dirname, '..', '..');
const npmOrt = join(root, 'node_modules', 'onnxruntime-node');
const tiny = join(root, 'test/fixtures/tiny/model.json');

t.test('the worker loads onnxruntime-node from MOBILENET_EDGE_ONNXRUNTIME and says so', async (t) => {
  const dir = join(t.testdir({}), 'onnxruntime-node');
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  cpSync(join(npmOrt, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(npmOrt, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(npmOrt, 'bin'), join(dir, 'bin'));
  symlinkSync(join(root, 'node_modules', 'onnxruntime-common'), join(dir, 'node_modules', 'onnxruntime-common'));
  // a marker only this copy has: the worker must have run this package's JS
  const index = join(dir, 'dist', 'index.js');
  writeFileSync(index, readFileSync(index, 'utf8') + '\nprocess.stderr.write("onnxruntime-node loaded from the external folder\\n");\n');
  const lines: string[] = [];
  const w = new EngineWorker({ command: defaultWorkerCommand(), env: { ...process.env, MOBILENET_EDGE_ONNXRUNTIME: dir }, helloTimeoutMs: 60000, onStderr: (l) => lines.push(l) });
  t.teardown(() => w.stop(500));
  const hello = await w.start();
  t.match(hello.runtimeVersion, new RegExp(`^1\\.\\d+.* \\(from ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));
  t.ok(lines.includes('onnxruntime-node loaded from the external folder'), 'the external package ran');
  const loaded = await w.load(tiny, ['cpu']);
  t.equal(loaded.provider, 'cpu');
});

t.test('a folder without onnxruntime-node stops the worker with a message naming it', async (t) => {
  const dir = t.testdir({});
  const w = new EngineWorker({ command: defaultWorkerCommand(), env: { ...process.env, MOBILENET_EDGE_ONNXRUNTIME: dir }, helloTimeoutMs: 60000 });
  const err = await w.start().catch((e) => e);
  t.equal(err.code, 'WORKER_EXITED');
  t.match(err.message, new RegExp(`MOBILENET_EDGE_ONNXRUNTIME=${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot load onnxruntime-node from there`));
});
