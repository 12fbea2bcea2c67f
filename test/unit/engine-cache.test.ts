import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cacheWarnings,
  detectTensorRtVersion,
  engineCacheKey,
  engineCachePath,
  listEngineCaches,
  parseNvInferVersion,
  pruneEngineCaches,
  timingCachePath,
  withEngineCaches,
} from '../../pipelines/engines/onnxruntime/engine-cache.js';
import { checkProviders, toOrtOptions, toSpecs } from '../../pipelines/engines/onnxruntime/providers.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

t.test('cache key: model, engine-affecting options and TensorRT version; nothing else', async (t) => {
  const base = { modelSha256: A, options: { fp16: true, workspaceMb: 512 }, tensorrtVersion: '8.5.2' };
  const k = engineCacheKey(base);
  t.match(k, /^[0-9a-f]{16}$/);
  t.equal(engineCacheKey({ ...base, options: { workspaceMb: 512, fp16: true } }), k, 'option order does not matter');
  t.equal(engineCacheKey({ ...base, options: { ...base.options, engineCacheDir: '/elsewhere', timingCache: true } }), k, 'cache locations do not change the engine');
  t.not(engineCacheKey({ ...base, modelSha256: B }), k, 'another model');
  t.not(engineCacheKey({ ...base, options: { fp16: false, workspaceMb: 512 } }), k, 'fp16 off');
  t.not(engineCacheKey({ ...base, options: { ...base.options, dlaCore: 0 } }), k, 'on a DLA');
  t.not(engineCacheKey({ ...base, options: { ...base.options, deviceId: 1 } }), k, 'another GPU');
  t.not(engineCacheKey({ ...base, tensorrtVersion: '8.6.1' }), k, 'another TensorRT');
  t.throws(() => engineCacheKey({ ...base, modelSha256: '../../etc' }), /not 64 lowercase hex/);
  t.equal(engineCachePath('/var/lib/me/trt', base), `/var/lib/me/trt/${A}/${k}`);
  t.equal(timingCachePath('/var/lib/me/trt', '8.5.2'), '/var/lib/me/trt/timing-8.5.2');
  t.equal(timingCachePath('/d', 'un known/x'), '/d/timing-un_known_x');
});

t.test('withEngineCaches adds keyed folders to tensorrt requests, lists and prunes them', async (t) => {
  const dir = t.testdir({});
  const specs = toSpecs([{ name: 'tensorrt', fp16: true, engineCacheDir: dir, timingCache: true }, 'cuda', 'cpu']);
  const reqs = withEngineCaches(specs, A, '10.3.0');
  t.same(reqs.slice(1), [{ name: 'cuda' }, { name: 'cpu' }]);
  const trt = reqs[0];
  t.equal(trt.engineCachePath, engineCachePath(dir, { modelSha256: A, options: { fp16: true }, tensorrtVersion: '10.3.0' }));
  t.equal(trt.timingCachePath, join(dir, 'timing-10.3.0'));
  t.ok(existsSync(trt.timingCachePath as string));
  const key = JSON.parse(readFileSync(join(trt.engineCachePath as string, 'key.json'), 'utf8'));
  t.equal(key.modelSha256, A);
  t.equal(key.tensorrtVersion, '10.3.0');

  // an engine lands in the folder (as ORT would write it); another model gets its own folder
  t.match(cacheWarnings(trt)[0], /wrote no engine .* ignores TensorRT options/);
  writeFileSync(join(trt.engineCachePath as string, 'TensorrtExecutionProvider_TRTKernel_graph_0_sm87.engine'), Buffer.alloc(100));
  t.same(cacheWarnings(trt), []);
  t.same(cacheWarnings('tensorrt'), []);
  t.same(cacheWarnings({ name: 'tensorrt' }), [], 'no cache asked for: nothing to check');
  withEngineCaches(specs, B, '10.3.0');
  const listed = listEngineCaches(dir);
  t.same(listed.map((e) => e.modelSha256).sort(), [A, B]);
  t.same(listed.find((e) => e.modelSha256 === A)!.files, [{ name: 'TensorrtExecutionProvider_TRTKernel_graph_0_sm87.engine', bytes: 100 }]);

  t.same(pruneEngineCaches(dir, A), [join(dir, A)]);
  t.notOk(existsSync(join(dir, A)));
  t.ok(existsSync(join(dir, B)), 'other models keep their caches');
  t.same(pruneEngineCaches(dir, A), [], 'pruning twice is harmless');
  t.throws(() => pruneEngineCaches(dir, '..'), /refusing/);
  t.same(listEngineCaches(join(dir, 'nope')), []);
});

t.test('TensorRT version from NvInferVersion.h', async (t) => {
  const h = '#define NV_TENSORRT_MAJOR 8 //!< TensorRT major version.\n#define NV_TENSORRT_MINOR 5\n#define NV_TENSORRT_PATCH 2\n#define NV_TENSORRT_BUILD 2\n';
  t.equal(parseNvInferVersion(h), '8.5.2');
  t.equal(parseNvInferVersion('nothing'), null);
  const dir = t.testdir({ 'NvInferVersion.h': h });
  t.equal(detectTensorRtVersion(['/nonexistent', dir]), '8.5.2');
  t.equal(detectTensorRtVersion(['/nonexistent']), 'unknown');
});

t.test('our option names map to onnxruntime TensorRT option names', async (t) => {
  t.same(toOrtOptions({ name: 'cpu' }), { name: 'cpu' });
  t.same(toOrtOptions({ name: 'cuda', deviceId: 1 }), { name: 'cuda', deviceId: 1 });
  t.same(
    toOrtOptions({ name: 'tensorrt', deviceId: 0, fp16: true, engineCacheDir: '/c', engineCachePath: '/c/x/y', timingCache: true, timingCachePath: '/c/timing-8', workspaceMb: 256, dlaCore: 1 }),
    {
      name: 'tensorrt',
      deviceId: 0,
      trt_fp16_enable: '1',
      trt_engine_cache_enable: '1',
      trt_engine_cache_path: '/c/x/y',
      trt_timing_cache_enable: '1',
      trt_timing_cache_path: '/c/timing-8',
      trt_max_workspace_size: String(256 * 1024 * 1024),
      trt_dla_enable: '1',
      trt_dla_core: '1',
    },
  );
  t.same(toOrtOptions({ name: 'tensorrt', fp16: false }), { name: 'tensorrt', trt_fp16_enable: '0' });
  t.same(checkProviders(['cpu']), []);
  t.same(checkProviders([]).map((p) => p.path), ['']);
  t.same(checkProviders([{ name: 'tensorrt', timingCache: true }]).map((p) => p.path), ['[0].timingCache']);
  t.same(checkProviders([{ name: 'tensorrt', engineCacheDir: '/a/../b' }]).map((p) => p.path), ['[0].engineCacheDir']);
});

t.test('TensorRT 10 headers, batch profiles, build reasons', async (t) => {
  const { buildReason } = await import('../../pipelines/engines/onnxruntime/engine-cache.js');
  const { profileShapes, toOrtOptions } = await import('../../pipelines/engines/onnxruntime/providers.js');
  const h10 = '#define TRT_MAJOR_ENTERPRISE 10\n#define TRT_MINOR_ENTERPRISE 3\n#define TRT_PATCH_ENTERPRISE 0\n#define NV_TENSORRT_MAJOR TRT_MAJOR_ENTERPRISE\n';
  t.equal(parseNvInferVersion(h10), '10.3.0');
  // the profile is part of the key: another batch range is another engine
  const base = { modelSha256: 'a'.repeat(64), options: { fp16: true }, tensorrtVersion: '10.3.0' };
  const k1 = engineCacheKey({ ...base, profile: { min: 1, opt: 8, max: 32 } });
  t.not(k1, engineCacheKey({ ...base, profile: { min: 1, opt: 4, max: 4 } }));
  t.not(k1, engineCacheKey(base));
  t.equal(engineCacheKey(base), engineCacheKey({ ...base }), 'no profile: the key is as before');
  const shapes = profileShapes('input', [1, 3, 224, 224], { min: 1, opt: 8, max: 32 });
  t.same(shapes, { min: 'input:1x3x224x224', opt: 'input:8x3x224x224', max: 'input:32x3x224x224' });
  t.throws(() => profileShapes('input', [1, 3, 8, 8], { min: 4, opt: 2, max: 8 }), /1 <= min <= opt <= max/);
  t.throws(() => profileShapes('in:put', [1, 3, 8, 8], { min: 1, opt: 1, max: 1 }), /cannot be written/);
  t.match(toOrtOptions({ name: 'tensorrt', trtProfile: shapes }), { trt_profile_min_shapes: 'input:1x3x224x224', trt_profile_opt_shapes: 'input:8x3x224x224', trt_profile_max_shapes: 'input:32x3x224x224' });
  // a build is announced for tensorrt without an engine file, never for other providers
  t.equal(buildReason('cpu'), null);
  t.match(buildReason('tensorrt'), /no engine cache configured/);
  t.equal(buildReason({ name: 'tensorrt', engineCachePath: '/c' }, () => ['key.json']), 'no cached engine in /c');
  t.equal(buildReason({ name: 'tensorrt', engineCachePath: '/c' }, () => ['key.json', 'TensorrtExecutionProvider_x.engine']), null);
  t.equal(buildReason({ name: 'tensorrt', engineCachePath: '/c' }, () => { throw new Error('ENOENT'); }), 'no cached engine in /c');
});
