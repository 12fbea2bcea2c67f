// Security settings: permission rules, credential paths, HTTP exposure, TLS file checks, secrets read
// from files / systemd credentials / the environment, and loadConfig refusing world-readable secrets.
import t from 'tap';
import path from 'node:path';
import { chmodSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isLoopbackHost, permissionProblem, resolveSecretPath, fileHoldsSecrets } from '../../daemon/config/security.js';
import { loadConfig, maskSecrets, ConfigError } from '../../daemon/config/config.js';
import { printConfig } from '../../daemon/config/cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cam = { id: 'cam1', url: 'rtsp://127.0.0.1:8554/cam1' };

let n = 0;
function write(dir: string, content: object, mode = 0o600): string {
  const file = path.join(dir, `config-${++n}.json`);
  writeFileSync(file, JSON.stringify({ cameras: [cam], ...content }));
  chmodSync(file, mode);
  return file;
}
const problems = (f: () => unknown): string[] => {
  try {
    f();
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
};

t.test('permissionProblem: others never, group only the service group', async (t) => {
  t.equal(permissionProblem(0o100600, 5, 5), null);
  t.equal(permissionProblem(0o100640, 5, 5), null, 'root:service-group 0640');
  t.match(permissionProblem(0o100640, 6, 5), /group 6/);
  t.match(permissionProblem(0o100644, 5, 5), /readable by others \(mode 0644\)/);
  t.match(permissionProblem(0o100604, 5, 5), /others/);
});

t.test('isLoopbackHost, resolveSecretPath, fileHoldsSecrets', async (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.5', 'edge.local']) t.notOk(isLoopbackHost(h), h);
  t.same(resolveSecretPath('credential:mqtt-password', { CREDENTIALS_DIRECTORY: '/run/credentials/x' }, '/etc/m'), { path: '/run/credentials/x/mqtt-password' });
  t.match(resolveSecretPath('credential:mqtt-password', {}, '/etc/m').error, /CREDENTIALS_DIRECTORY/);
  t.match(resolveSecretPath('credential:../etc/shadow', { CREDENTIALS_DIRECTORY: '/c' }, undefined).error, /bad credential name/);
  t.same(resolveSecretPath('pw.txt', {}, '/etc/m'), { path: '/etc/m/pw.txt' });
  t.ok(fileHoldsSecrets({ mqtt: { password: 'x' } }));
  t.ok(fileHoldsSecrets({ cameras: [{ url: 'rtsp://a:b@h/x' }] }));
  t.ok(fileHoldsSecrets({ http: { token: 'x' } }));
  t.notOk(fileHoldsSecrets({ mqtt: { password: '', passwordFile: 'credential:p' }, cameras: [{ url: 'rtsp://a@h/x' }] }));
});

t.test('a config file holding a password: refused when world-readable, a warning when configured so', async (t) => {
  const dir = t.testdir({});
  const f = write(dir, { mqtt: { url: 'mqtts://b:8883', password: 'p4ss' } }, 0o644);
  t.match(problems(() => loadConfig({ file: f, packageRoot: root })).join('\n'), /config file with secrets .* readable by others/);
  const warns: string[] = [];
  const f2 = write(dir, { mqtt: { url: 'mqtts://b:8883', password: 'p4ss' }, security: { secretFilePermissions: 'warn' } }, 0o644);
  t.equal(loadConfig({ file: f2, packageRoot: root, warn: (w) => warns.push(w) }).mqtt.password, 'p4ss');
  t.match(warns.join('\n'), /readable by others/);
  const f3 = write(dir, { mqtt: { url: 'mqtts://b:8883' } }, 0o644);
  t.doesNotThrow(() => loadConfig({ file: f3, packageRoot: root }), 'no secrets in it: 0644 is fine');
});

t.test('secrets from a password file, a systemd credential and the environment; never printed', async (t) => {
  const dir = t.testdir({ creds: { 'mqtt-password': 'credpass\n', 'http-token': 'tok-0123456789abcdef\n' }, 'pw.txt': 'filepass\n' });
  chmodSync(path.join(dir, 'creds', 'mqtt-password'), 0o400);
  chmodSync(path.join(dir, 'creds', 'http-token'), 0o400);
  chmodSync(path.join(dir, 'pw.txt'), 0o600);
  const env = { CREDENTIALS_DIRECTORY: path.join(dir, 'creds') };
  const f = write(dir, { mqtt: { url: 'mqtts://b:8883', passwordFile: 'credential:mqtt-password' }, http: { host: '0.0.0.0', allowRemote: true, tokenFile: 'credential:http-token' } }, 0o644);
  const c = loadConfig({ file: f, env, packageRoot: root });
  t.equal(c.mqtt.password, 'credpass');
  t.equal(c.http.token, 'tok-0123456789abcdef');
  const lines: string[] = [];
  t.equal(printConfig(f, root, (l) => lines.push(l), env), 0);
  t.notMatch(lines.join('\n'), /credpass|tok-0123/);
  t.match(lines.join('\n'), /"passwordFile": "credential:mqtt-password"/, 'the reference is shown, not the secret');
  const f2 = write(dir, { mqtt: { url: 'mqtts://b:8883', passwordFile: 'pw.txt' } });
  t.equal(loadConfig({ file: f2, packageRoot: root }).mqtt.password, 'filepass', 'relative to the config folder');
  chmodSync(path.join(dir, 'pw.txt'), 0o644);
  t.match(problems(() => loadConfig({ file: f2, packageRoot: root })).join('\n'), /mqtt.passwordFile: secret file .*pw.txt is readable by others/);
  t.match(problems(() => loadConfig({ file: f, env: {}, packageRoot: root })).join('\n'), /mqtt.passwordFile: "credential:mqtt-password" needs \$CREDENTIALS_DIRECTORY/);
  const envOnly = loadConfig({ file: write(dir, { mqtt: { url: 'mqtts://b:8883' }, http: { host: '10.1.1.1', allowRemote: true } }), env: { MOBILENET_EDGE_MQTT_PASSWORD: 'envpass', MOBILENET_EDGE_HTTP_TOKEN: 'envtoken-0123456789' }, packageRoot: root });
  t.same([envOnly.mqtt.password, envOnly.http.token], ['envpass', 'envtoken-0123456789']);
  t.notMatch(JSON.stringify(maskSecrets(envOnly)), /envpass|envtoken/);
});

t.test('http: loopback by default; elsewhere only with allowRemote and a token', async (t) => {
  const dir = t.testdir({});
  t.equal(loadConfig({ file: write(dir, {}), packageRoot: root }).http.host, '127.0.0.1');
  t.match(problems(() => loadConfig({ file: write(dir, { http: { host: '0.0.0.0' } }), packageRoot: root })), [/^http.host: "0.0.0.0" is not a loopback address/]);
  t.match(problems(() => loadConfig({ file: write(dir, { http: { host: '0.0.0.0', allowRemote: true } }), packageRoot: root })), [/^http.token: http.allowRemote needs a bearer token/]);
  t.match(problems(() => loadConfig({ file: write(dir, { http: { host: '0.0.0.0', allowRemote: true, token: 'short' } }), packageRoot: root })), [/^http.token: must be at least 16/]);
});

t.test('mqtt TLS settings: files must exist, need mqtts://, cert and key together', async (t) => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const dir = t.testdir({ 'ca.pem': PEM, 'c.pem': PEM, 'k.pem': '-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n', 'empty.pem': '', 'der.crt': '0\x82\x01' });
  chmodSync(path.join(dir, 'k.pem'), 0o600);
  const ok = loadConfig({ file: write(dir, { mqtt: { url: 'mqtts://b:8883', caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem' } }), packageRoot: root });
  t.equal(ok.mqtt.caFile, path.join(dir, 'ca.pem'), 'resolved to an absolute path');
  t.equal(ok.mqtt.rejectUnauthorized, true, 'verification on by default');
  const ps = problems(() => loadConfig({ file: write(dir, { mqtt: { url: 'mqtt://b:1883', caFile: 'nope.pem', certFile: 'c.pem' } }), packageRoot: root }));
  t.match(ps.join('\n'), /mqtt.caFile: needs an mqtts:\/\//);
  t.match(ps.join('\n'), /mqtt.keyFile: mutual TLS needs both/);
  t.match(ps.join('\n'), /mqtt.caFile: .*nope.pem does not exist/);
  chmodSync(path.join(dir, 'k.pem'), 0o644);
  t.match(problems(() => loadConfig({ file: write(dir, { mqtt: { url: 'mqtts://b:8883', certFile: 'c.pem', keyFile: 'k.pem' } }), packageRoot: root })).join('\n'), /mqtt.keyFile: secret file .* readable by others/);
  const notPem = problems(() => loadConfig({ file: write(dir, { mqtt: { url: 'mqtts://b:8883', caFile: 'empty.pem', certFile: 'der.crt', keyFile: 'k.pem' } }), packageRoot: root })).join('\n');
  t.match(notPem, /mqtt.caFile: .*empty.pem is not a PEM file \(empty\)/);
  t.match(notPem, /mqtt.certFile: .*der.crt is not a PEM file \(no -----BEGIN/);
  const warns: string[] = [];
  loadConfig({ file: write(dir, { mqtt: { url: 'mqtts://b:8883', rejectUnauthorized: false } }), packageRoot: root, warn: (w) => warns.push(w) });
  t.match(warns.join('\n'), /NOT verified/);
});
