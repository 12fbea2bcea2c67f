// Config for issue 16: top-level `groups`, trusted keys with roles, the new ota.* keys and their defaults.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../daemon/config/config.js';
import { loadTrustedKeys } from '../../daemon/ota/setup.js';
import { generateKeys } from '../../models/signing.js';

const root = join(import.meta.dirname, '..', '..');
const load = (dir: string, content: Record<string, unknown>) => {
  const f = join(dir, 'c.json');
  writeFileSync(f, JSON.stringify({ cameras: [{ id: 'cam1', url: 'rtsp://127.0.0.1:8554/cam1' }], mqtt: { url: 'mqtt://127.0.0.1:1883' }, ...content }));
  return loadConfig({ file: f, packageRoot: root, env: {} });
};
const problems = (fn: () => unknown) => {
  try {
    fn();
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
};

t.test('defaults', async (t) => {
  const c = load(t.testdir({}), {});
  t.same(c.groups, []);
  t.same([c.ota.modelThreshold, c.ota.maxChunkBytes, c.ota.transferDeadlineSec, c.ota.probationLatencyFactor, c.ota.probationLatencyMinMs, c.ota.probationMaxBoots], [1, 262144, 900, 3, 20, 3]);
});

t.test('groups and trusted keys with roles', async (t) => {
  const dir = t.testdir({});
  const k = generateKeys();
  const c = load(dir, { groups: ['lobby', 'floor_2'], ota: { trustedKeys: [k.publicPem, { key: k.publicPem, roles: ['command'] }] } });
  t.same(c.groups, ['lobby', 'floor_2']);
  const keys = loadTrustedKeys(c.ota.trustedKeys);
  t.same(keys.map((x) => x.roles), [['model', 'command'], ['command']], 'a plain entry has the roles model and command');
  t.equal(keys[0].keyId, k.keyId);
  const ps = problems(() => load(dir, { groups: ['a/b'], ota: { trustedKeys: [{ key: k.publicPem, roles: ['admin'] }, { key: k.publicPem }], modelThreshold: 0 } }));
  t.match(ps.join('\n'), /groups: must be an array of group names/);
  t.match(ps.join('\n'), /ota\.trustedKeys: \[0\]\.roles: expected a non-empty array of model, command, downgrade/);
  t.match(ps.join('\n'), /ota\.modelThreshold/);
});
