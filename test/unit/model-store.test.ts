// The model store: pointer logic (pure), install/activate/rollback/prune on disk, and crash safety:
// a child process is SIGKILLed at each step of an activation, then the store is reopened and checked.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { activatePointer, emptyPointer, pruneList, recordInstall, rollbackPointer, ModelStore, type StoreStep } from '../../daemon/ota/model-store.js';
import { readModel } from '../../models/model-file.js';
import { tinyOnnx, variantFiles } from '../helpers/ota-fixtures.js';

const r = (version: string) => ({ name: 'tiny', version });

t.test('pointer logic', async (t) => {
  let p = emptyPointer();
  t.throws(() => activatePointer(p, r('1')), { code: 'NOT_INSTALLED' });
  p = recordInstall(p, r('1'), 'a');
  p = activatePointer(p, r('1'));
  t.same([p.active, p.previous], [r('1'), null]);
  t.throws(() => rollbackPointer(p), { code: 'NO_PREVIOUS' });
  p = activatePointer(recordInstall(p, r('2'), 'b'), r('2'));
  t.same([p.active, p.previous], [r('2'), r('1')]);
  t.equal(activatePointer(p, r('2')), p, 'activating the active version changes nothing');
  p = activatePointer(recordInstall(p, r('3'), 'c'), r('3'));
  const back = rollbackPointer(p);
  t.same([back.active, back.previous], [r('2'), r('1')], 'rollback: previous becomes active, the newest other version previous');
  p = activatePointer(recordInstall(p, r('4'), 'd'), r('4'));
  t.same(pruneList(p, 2).map(({ name, version }) => ({ name, version })), [r('1'), r('2')], 'keep active, previous and the newest 2');
  t.same(pruneList(p, 1).map(({ name, version }) => ({ name, version })), [r('1'), r('2')]);
  t.same(pruneList(p, 4), []);
});

t.test('rolled-back versions are marked bad: never previous, never a rollback target', async (t) => {
  let p = emptyPointer();
  for (const v of ['1', '2', '3']) p = activatePointer(recordInstall(p, r(v), v), r(v));
  p = rollbackPointer(p, 'crashed in probation', 'at');
  t.same([p.active, p.previous], [r('2'), r('1')], '3 → 2; 1 is previous');
  t.same(p.bad, [{ ...r('3'), reason: 'crashed in probation', at: 'at' }], '3 is marked bad');
  p = activatePointer(recordInstall(p, r('4'), '4'), r('4'));
  t.same([p.active, p.previous], [r('4'), r('2')]);
  p = rollbackPointer(p, 'NaN', 'at');
  t.same([p.active, p.previous], [r('2'), r('1')], '4 → 2; previous skips 3 and 4 (bad)');
  p = rollbackPointer(p, 'operator', 'at');
  t.same([p.active, p.previous], [r('1'), null], 'nothing good is left to roll back to');
  t.same(p.bad!.map((b) => b.version), ['3', '4', '2']);
  t.same(pruneList(p, 5).map((x) => x.version).sort(), ['2', '3', '4'], 'bad versions are not kept');
});

t.test('install, activate, rollback, prune on disk', async (t) => {
  const dir = t.testdir({});
  const s = await ModelStore.open(dir, { keep: 2 });
  for (const v of ['1', '2', '3', '4']) {
    t.equal(await s.install(r(v), variantFiles({ version: v })), 'installed');
    await s.activate(r(v));
  }
  t.same(readdirSync(join(dir, 'models', 'tiny')).sort(), ['3', '4'], 'older versions pruned');
  t.equal(await s.install(r('4'), variantFiles({ version: '4' })), 'exists', 'same version, same bytes: no-op');
  await t.rejects(s.install(r('4'), variantFiles({ version: '4', labels: ['a', 'b'] })), { code: 'VERSION_CONFLICT' });
  await s.rollback();
  t.same(s.pointer.active, r('3'));
  const again = await ModelStore.open(dir, { keep: 2 });
  t.same(again.pointer.active, r('3'), 'the pointer survives a reopen');
  t.equal((await readModel(again.activeManifestPath()!)).manifest.version, '3');
  await t.rejects(s.install({ name: 'tiny', version: '..' }, []), { code: 'BAD_NAME' });
});

const CHILD = join(import.meta.dirname, '..', 'fixtures', 'store-child.ts');
const steps: [StoreStep, string][] = [
  ['staging-partial', '1'],
  ['staged', '1'],
  ['installed', '1'],
  ['pointer-tmp', '1'],
  ['pointer-renamed', '2'],
  ['pruned', '2'],
];

t.test('SIGKILL at each step of an activation leaves the old or the new model active, whole', async (t) => {
  for (const [step, want] of steps) {
    const dir = t.testdir({});
    const s = await ModelStore.open(dir, { keep: 1 });
    await s.install(r('1'), variantFiles({ version: '1' }));
    await s.activate(r('1'));
    const child = spawn(process.execPath, [...process.execArgv, CHILD, dir], { env: { ...process.env, STORE_KILL_AT: step }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const sig = await new Promise<string | null>((res) => child.on('exit', (_c, sg) => res(sg)));
    t.equal(sig, 'SIGKILL', `${step}: the child was killed there ${err}`);
    const after = await ModelStore.open(dir, { keep: 1 });
    t.same(after.pointer.active, r(want), `${step}: active is ${want}`);
    const m = await readModel(after.activeManifestPath()!);
    t.equal(m.manifest.version, want, `${step}: the active model reads whole and matches its hash`);
    t.same(readdirSync(join(dir, 'staging')), [], `${step}: staging emptied on open`);
    t.notOk(existsSync(join(dir, 'store.json.tmp')), `${step}: no pointer temp file left`);
    JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8'));
    // the interrupted push can be repeated and completes
    await after.install(r('2'), variantFiles({ version: '2' }));
    await after.activate(r('2'));
    t.equal((await readModel(after.activeManifestPath()!)).manifest.version, '2', `${step}: a repeated push completes`);
  }
});

t.test('removed versions take their TensorRT engine caches with them (not those a kept version shares)', async (t) => {
  const { pruneRemovedModels } = await import('../../daemon/engine-setup.js');
  const { mkdirSync } = await import('node:fs');
  const { createHash } = await import('node:crypto');
  const dir = t.testdir({ trt: {} });
  const cacheDir = join(dir, 'trt');
  // versions 1..3 have their own model file; version 4 has version 3's
  const onnx = (v: string) => Buffer.concat([tinyOnnx(), Buffer.from(v === '4' ? '3' : v)]);
  const sha = (v: string) => createHash('sha256').update(onnx(v)).digest('hex');
  for (const v of ['1', '2', '3']) mkdirSync(join(cacheDir, sha(v), '0123456789abcdef'), { recursive: true });
  const pruned: string[] = [];
  const s = await ModelStore.open(join(dir, 'store'), { keep: 0, onRemoved: (removed, kept) => void pruned.push(...pruneRemovedModels([cacheDir], removed, kept)) });
  for (const v of ['1', '2', '3', '4']) {
    await s.install(r(v), variantFiles({ version: v, onnx: onnx(v) }));
    await s.activate(r(v));
  }
  // keep 0: active 4 and previous 3 stay; 1 and 2 went, and their caches with them
  t.same(readdirSync(join(dir, 'store', 'models', 'tiny')).sort(), ['3', '4']);
  t.same(pruned.sort(), [join(cacheDir, sha('1')), join(cacheDir, sha('2'))].sort());
  t.same(readdirSync(cacheDir), [sha('3')]);
  // discarding 4 keeps 3's cache: 3 is still installed with the same model file
  await s.install(r('5'), variantFiles({ version: '5', onnx: onnx('5') }));
  await s.discard(r('5'));
  t.same(readdirSync(cacheDir), [sha('3')]);
});
