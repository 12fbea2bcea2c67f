// edgectl's config file and profiles, where a push finds the model's description (manifest beside
// the file, ONNX metadata), and the ONNX metadata round trip.
import t from 'tap';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configPath, parseConfig, pickProfile, readConfigFile, resolveConnection, stateDir, writeProfile } from '../../deploy/edgectl-config.js';
import { MissingInput, pushSource } from '../../deploy/push-source.js';
import { metadataProps, parseMetadata, readMetadataProps, withMetadataProps } from '../../models/onnx-metadata.js';
import { tinyOnnx, variantFiles } from '../helpers/ota-fixtures.js';

t.test('config and state paths follow EDGECTL_*, then XDG, then HOME', async (t) => {
  t.equal(configPath({ EDGECTL_CONFIG: '/x/c.json', HOME: '/h' }), '/x/c.json');
  t.equal(configPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/h' }), '/xdg/edgectl/config.json');
  t.equal(configPath({ HOME: '/h' }), '/h/.config/edgectl/config.json');
  t.equal(stateDir({ HOME: '/h' }), '/h/.local/state/edgectl');
  t.equal(stateDir({ XDG_STATE_HOME: '/s', HOME: '/h' }), '/s/edgectl');
});

t.test('profiles: written 0600, first is the default, --profile picks, mistakes named', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'edgectl', 'config.json');
  t.same(pickProfile(readConfigFile(file), undefined, file), {}, 'no file: no profile');
  t.throws(() => pickProfile(null, 'north', file), /no edgectl config at .*edgectl init --profile north/);
  writeProfile(file, 'north', { broker: 'mqtts://n:8883', site: 'north', key: '/k.pem' }, {});
  writeProfile(file, 'south', { broker: 'mqtt://s:1883', site: 'south', password: '' }, {});
  t.equal(statSync(file).mode & 0o777, 0o600);
  const cfg = readConfigFile(file)!;
  t.equal(cfg.default, 'north');
  t.same(cfg.profiles.south, { broker: 'mqtt://s:1883', site: 'south' }, 'empty values are not written');
  t.equal(pickProfile(cfg, undefined, file).site, 'north');
  t.equal(pickProfile(cfg, 'south', file).site, 'south');
  t.throws(() => pickProfile(cfg, 'east', file), /has no profile "east" \(profiles: north, south\)/);
  t.throws(() => writeProfile(file, 'south', {}, {}), /already has a profile "south": pass --force/);
  writeProfile(file, 'south', { site: 's2' }, { force: true, makeDefault: true });
  t.equal(readConfigFile(file)!.default, 'south');
  writeFileSync(file, JSON.stringify({ format: 'edgectl/config@1', default: 'x', profiles: { 'a b': {}, ok: { brokr: 'x', site: 3 } } }));
  t.throws(() => readConfigFile(file), /profiles\.a b: not a profile name \(1-64 of A-Z a-z 0-9 _ -\); profiles\.ok\.brokr: unknown key; profiles\.ok\.site: expected a string; default: must name one of the profiles/);
  t.throws(() => parseConfig([], 'f'), /not a JSON object/);
});

t.test('connection: flags, then the environment, then the profile, then the defaults', async (t) => {
  const p = { broker: 'mqtt://profile', site: 'ps', key: '/pk', username: 'pu', passwordFile: '/pw' };
  const read = (f: string) => (f === '/pw' ? 'from-file\n' : '');
  t.match(resolveConnection({}, {}, p, read), { broker: 'mqtt://profile', site: 'ps', key: '/pk', username: 'pu', password: 'from-file' });
  t.match(resolveConnection({}, { MOBILENET_EDGE_MQTT_URL: 'mqtt://env', MOBILENET_EDGE_MQTT_PASSWORD: 'envpw' }, p, read), { broker: 'mqtt://env', password: 'envpw' });
  t.match(resolveConnection({ broker: 'mqtt://flag', site: 'fs', password: 'fp' }, { MOBILENET_EDGE_MQTT_URL: 'mqtt://env' }, p, read), { broker: 'mqtt://flag', site: 'fs', password: 'fp' });
  t.match(resolveConnection({}, {}, {}, read), { broker: 'mqtt://127.0.0.1:1883', site: 'site', key: undefined, password: undefined });
});

t.test('ONNX metadata: round trip, other entries kept, bad values named', async (t) => {
  const meta = { labels: ['a', 'b'], preprocess: { scale: 1 / 255, mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] }, outputKind: 'probabilities' as const, colorOrder: 'BGR' as const, resize: 'stretch' as const, name: 'site-model' };
  const once = withMetadataProps(tinyOnnx(), { other: 'kept' });
  const bytes = withMetadataProps(once, metadataProps(meta));
  const props = readMetadataProps(bytes);
  t.equal(props.other, 'kept');
  t.same(parseMetadata(props), meta);
  t.same(parseMetadata(readMetadataProps(tinyOnnx())), {}, 'a model without ours: nothing');
  t.throws(() => parseMetadata({ 'mobilenet_edge.labels': '[1]' }), /mobilenet_edge\.labels must be a JSON array of label strings/);
  t.throws(() => parseMetadata({ 'mobilenet_edge.output_kind': 'softmax' }), /output_kind is "softmax", expected one of logits, probabilities/);
  t.throws(() => parseMetadata({ 'mobilenet_edge.preprocess': '{' }), /is not JSON/);
});

t.test('push source: --manifest, a manifest beside the file, ONNX metadata + --version, or one line saying what is missing', async (t) => {
  const dir = t.testdir({ beside: {}, meta: {}, bare: {}, other: {} });
  for (const f of variantFiles({ version: '2.0.0' })) writeFileSync(join(dir, 'beside', f.name), f.bytes);
  const b = await pushSource(join(dir, 'beside', 'model.onnx'), {});
  t.equal(b.source, join(dir, 'beside', 'model.json'));
  await t.rejects(pushSource(join(dir, 'beside', 'model.onnx'), { version: '3.0.0' }), /says version 2\.0\.0, not 3\.0\.0/);
  writeFileSync(join(dir, 'meta', 'site.onnx'), withMetadataProps(tinyOnnx(), metadataProps({ labels: ['red', 'blue'], name: 'tiny' })));
  writeFileSync(join(dir, 'meta', 'model.json'), JSON.stringify({ format: 'mobilenet-edge/model@1', file: 'other.onnx' }));
  const noVersion = await pushSource(join(dir, 'meta', 'site.onnx'), {}).catch((e) => e);
  t.ok(noVersion instanceof MissingInput, "a manifest for another file is not this file's manifest: a usage problem");
  t.equal(noVersion.message, 'site.onnx has no manifest beside it: give its version with --version V (labels red, blue come from its ONNX metadata)');
  const m = await pushSource(join(dir, 'meta', 'site.onnx'), { version: '3.0.0' });
  const made = JSON.parse((m.source as { bytes: Buffer }).bytes.toString());
  t.match(made, { name: 'tiny', version: '3.0.0', labels: ['red', 'blue'], input: { name: 'input', width: 8, height: 8 }, output: { name: 'logits' } });
  writeFileSync(join(dir, 'bare', 'x.onnx'), tinyOnnx());
  await t.rejects(pushSource(join(dir, 'bare', 'x.onnx'), { version: '1' }), /no manifest beside it \(model\.json\) and no labels in its ONNX metadata: add --labels labels\.txt --version V, or --manifest model\.json/);
  writeFileSync(join(dir, 'other', 'x.onnx'), 'not onnx at all');
  await t.rejects(pushSource(join(dir, 'other', 'x.onnx'), {}), /x\.onnx: not an ONNX model/);
  await t.rejects(pushSource(join(dir, 'nope.onnx'), {}), /no such file/);
  t.ok(readFileSync(join(dir, 'beside', 'model.json')).length);
});
