// deploy/install.sh, run for real against a temporary root (--root): the files it installs, the user
// from the sysusers file, the unit it writes (systemd-analyze verify, nothing on stderr), the example
// config valid per --check-config, the state folder owned by the user, the service enabled, and
// --prepare run as the service user. What it does not do here: start the service. This machine has
// no systemd as PID 1 (a container), so `systemctl start` and READY/WATCHDOG under a real systemd are
// not run (docs/ACCELERATORS.md); the notify path is tested against a socket stand-in elsewhere.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/daemon.js';

const asRoot = process.getuid?.() === 0;

t.test('install.sh --root: files, user, unit, config, state, prepare', { skip: asRoot ? false : 'install.sh runs as root (this test runner is not root)' }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'install-root-'));
  chmodSync(root, 0o755); // the service user must reach the files, as under a real /
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  // --prefix = this checkout: nothing copied (node_modules alone is hundreds of MB)
  const r = spawnSync('bash', [join(ROOT, 'deploy/install.sh'), '--root', root, '--prefix', ROOT, '--prepare'], { encoding: 'utf8', timeout: 300_000 });
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /config OK: .*\/etc\/mobilenet-edge\/config.json/);
  t.match(r.stdout, /preparing 2 model\(s\)/, '--prepare ran (the example camera is in faces mode: classifier and detector)');
  t.match(r.stdout, /ok +detector ultraface-masked-rfb-640 .*: cpu/);
  t.match(r.stdout, /ok +classifier mask-mobilenet .*: cpu/);
  t.notMatch(r.stderr, /--prepare failed/);

  // the user, from the sysusers file
  const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
  const user = passwd.split('\n').find((l) => l.startsWith('mobilenet-edge:'))!;
  t.match(user, /^mobilenet-edge:x:(\d+):(\d+):mobilenet-edge daemon:\/var\/lib\/mobilenet-edge:\/usr\/sbin\/nologin$/);
  const uid = Number(user.split(':')[2]);
  t.ok(existsSync(join(root, 'usr/lib/sysusers.d/mobilenet-edge.conf')));

  // the unit: paths substituted, verified, enabled
  const unitPath = join(root, 'etc/systemd/system/mobilenet-edge.service');
  const unit = readFileSync(unitPath, 'utf8');
  t.match(unit, new RegExp(`^ExecStart=${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --min-semi-space-size=16 ${ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/dist/daemon/main.js --config /etc/mobilenet-edge/config.json$`, 'm'));
  const v = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
  t.equal(v.status, 0);
  t.equal(v.stderr.trim(), '', 'systemd-analyze verify: nothing on stderr');
  t.equal(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/mobilenet-edge.service')), '../mobilenet-edge.service', 'enabled');

  // config: valid per --check-config; state: the user's, 0750
  const cfg = join(root, 'etc/mobilenet-edge/config.json');
  const check = spawnSync(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--check-config', cfg], { encoding: 'utf8' });
  t.equal(check.status, 0, check.stdout + check.stderr);
  const st = statSync(join(root, 'var/lib/mobilenet-edge'));
  t.equal(st.uid, uid);
  t.equal(st.mode & 0o777, 0o750);

  // a second run keeps an edited config and the user
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('"site": "site"', '"site": "edited"'));
  const again = spawnSync('bash', [join(ROOT, 'deploy/install.sh'), '--root', root, '--prefix', ROOT], { encoding: 'utf8', timeout: 120_000 });
  t.equal(again.status, 0, again.stdout + again.stderr);
  t.match(readFileSync(cfg, 'utf8'), /"site": "edited"/, 'an existing config is never overwritten');
  t.equal(readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').filter((l) => l.startsWith('mobilenet-edge:')).length, 1);
});

t.test('a config the daemon refuses stops the install with 78', { skip: asRoot ? false : 'install.sh runs as root' }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'install-root-'));
  chmodSync(root, 0o755);
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  spawnSync('mkdir', ['-p', join(root, 'etc/mobilenet-edge')]);
  writeFileSync(join(root, 'etc/mobilenet-edge/config.json'), JSON.stringify({ cameras: [{ id: 'cam1', url: 'rtsp://x', fps: 1000 }] }));
  const r = spawnSync('bash', [join(ROOT, 'deploy/install.sh'), '--root', root, '--prefix', ROOT], { encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 78, r.stdout + r.stderr);
  t.match(r.stdout + r.stderr, /cameras\[0\]\.fps/);
});
