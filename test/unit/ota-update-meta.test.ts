// Signed update metadata (models/update-meta.ts): each refusal has its code; defaults; manifest parsing.
import t from 'tap';
import { checkUpdate, compareVersions, defaultUpdateMeta, sameModel, updateMetaProblems, withUpdateMeta, type DeviceView, type UpdateMeta } from '../../models/update-meta.js';
import { parseManifest } from '../../models/manifest.js';
import { tinyManifest } from '../helpers/ota-fixtures.js';

const now = Date.parse('2026-12-02T12:00:00Z');
const device: DeviceView = { site: 'plant-3', deviceId: 'edge-1', groups: ['lobby'], now, sequenceFloor: 1000, active: { name: 'tiny', version: '2.0.0' } };
const meta = (over: Partial<UpdateMeta> = {}): UpdateMeta => ({ sequence: 2000, expires: '2026-12-03T00:00:00Z', targets: { site: 'plant-3' }, ...over });
const model = (version: string) => ({ name: 'tiny', version });
const code = (m: UpdateMeta | undefined, version = '3.0.0', roles: ('model' | 'command' | 'downgrade')[][] | null = [['model']], d: Partial<DeviceView> = {}) => {
  try {
    checkUpdate(m, model(version), { ...device, ...d }, roles);
    return 'OK';
  } catch (e) {
    return (e as { code: string }).code;
  }
};

t.test('a bundle for this site, newer, not expired is accepted', async (t) => {
  t.equal(code(meta()), 'OK');
  t.equal(code(meta({ targets: { site: 'plant-3', devices: ['edge-1', 'edge-2'] } })), 'OK', 'named device');
  t.equal(code(meta({ targets: { site: 'plant-3', devices: ['edge-9'], groups: ['lobby'] } })), 'OK', 'one of its groups');
  t.equal(code(meta(), '1.0.0', [['model']], { active: { name: 'other', version: '9' } }), 'OK', 'another model name is no downgrade');
});

t.test('each refusal has its code', async (t) => {
  t.equal(code(undefined), 'METADATA_MISSING');
  t.equal(code(undefined, '3.0.0', null), 'OK', 'allowUnsigned: metadata may be missing');
  t.equal(code(meta({ expires: '2026-12-02T11:59:59Z' })), 'EXPIRED');
  t.equal(code(meta({ targets: { site: 'plant-4' } })), 'WRONG_TARGET', 'other site');
  t.equal(code(meta({ targets: { site: 'plant-3', devices: ['edge-2'] } })), 'WRONG_TARGET', 'other device');
  t.equal(code(meta({ targets: { site: 'plant-3', groups: ['gate'] } })), 'WRONG_TARGET', 'other group');
  t.equal(code(meta({ sequence: 1000 })), 'STALE_SEQUENCE', 'equal to the floor (a replay)');
  t.equal(code(meta({ sequence: 999 })), 'STALE_SEQUENCE');
  t.equal(code(meta(), '1.9.9'), 'DOWNGRADE');
  t.equal(code(meta({ allowDowngrade: true }), '1.9.9', [['model']]), 'WRONG_KEY_ROLE', 'allowDowngrade by a model-only key');
  t.equal(code(meta({ allowDowngrade: true }), '1.9.9', [['model'], ['downgrade']]), 'OK', 'allowDowngrade with a downgrade signer');
  t.equal(code(meta({ allowDowngrade: true, sequence: 5 }), '1.9.9', [['model', 'downgrade']]), 'STALE_SEQUENCE', 'a downgrade still needs a new sequence');
});

t.test('version order is numeric-aware', async (t) => {
  t.ok(compareVersions('2.10.0', '2.9.1') > 0);
  t.ok(compareVersions('1.0.0', '2.0.0') < 0);
  t.equal(compareVersions('3', '3'), 0);
});

t.test('defaults, validation and the manifest', async (t) => {
  const d = defaultUpdateMeta({ site: 'plant-3', devices: ['edge-1'], now, expiresHours: 2 });
  t.same(d, { sequence: now, expires: '2026-12-02T14:00:00.000Z', targets: { site: 'plant-3', devices: ['edge-1'] } });
  t.same(defaultUpdateMeta({ site: 's', devices: [], now }).targets, { site: 's' }, 'no devices: the whole site');
  t.throws(() => defaultUpdateMeta({ site: '../x' }));
  t.same(updateMetaProblems(d), []);
  t.match(updateMetaProblems({ sequence: 0, expires: 'soon', targets: { site: 'a/b', devices: 'x' }, extra: 1 }).join('\n'), /update.extra: unknown key[\s\S]*sequence[\s\S]*expires[\s\S]*targets.site[\s\S]*targets.devices/);
  const bytes = Buffer.from(JSON.stringify(tinyManifest()));
  const signed = withUpdateMeta(bytes, d);
  t.same(parseManifest(JSON.parse(signed.toString())).update, d, 'the manifest carries it');
  t.throws(() => parseManifest({ ...tinyManifest(), update: { sequence: -1 } }), /update\.sequence/);
  t.ok(sameModel(bytes, signed), 'same model, other metadata');
  t.notOk(sameModel(bytes, Buffer.from(JSON.stringify({ ...tinyManifest(), version: '9' }))));
});
