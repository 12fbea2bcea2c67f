// The unit passes `systemd-analyze verify` with NO output on stderr (it exits 0 for bad values and only
// prints them), carries the watchdog / notify / hardening settings the daemon relies on, and the
// sysusers file creates the service user (systemd-sysusers --root into a scratch folder).
// Needs the Debian package `systemd` (.ci/deps installs it); without it this test fails, it does not skip.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const unitPath = join(root, 'systemd', 'mobilenet-edge.service');
const ANALYZE = '/usr/bin/systemd-analyze';
const SYSUSERS = '/usr/bin/systemd-sysusers';

function run(cmd: string, args: string[]) {
  if (!existsSync(cmd)) throw new Error(`${cmd} is missing: install the Debian package "systemd" (bash .ci/deps)`);
  return spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '' } });
}

t.test('systemd-analyze verify: exit 0 and nothing on stderr', async (t) => {
  // A copy in a scratch folder: verify also reads other units next to it.
  const dir = t.testdir({});
  const copy = join(dir, 'mobilenet-edge.service');
  copyFileSync(unitPath, copy);
  const r = run(ANALYZE, ['verify', copy]);
  t.equal(r.error, undefined);
  t.equal(r.status, 0, `exit status; stderr:\n${r.stderr}`);
  t.equal(r.stderr, '', 'no warnings or errors');
});

t.test('the credentials drop-in (LoadCredential=) verifies with the unit', async (t) => {
  const dir = t.testdir({});
  const copy = join(dir, 'mobilenet-edge.service');
  const dropIn = readFileSync(join(root, 'systemd', 'credentials.conf.example'), 'utf8').replace(/^\[Service\]\n/m, '');
  t.match(dropIn, /^LoadCredential=mqtt-password:/m);
  // verify has no drop-in folder option: the drop-in's lines appended to the unit's [Service] section.
  writeFileSync(copy, readFileSync(unitPath, 'utf8').replace(/^\[Service\]\n/m, (s) => s + dropIn.split('\n').filter((l) => l.startsWith('LoadCredential=')).join('\n') + '\n'));
  const r = run(ANALYZE, ['verify', copy]);
  t.equal(r.status, 0, `exit status; stderr:\n${r.stderr}`);
  t.equal(r.stderr, '', 'no warnings or errors');
});

t.test('the check above would catch a bad value (systemd-analyze exits 0 for it)', async (t) => {
  const dir = t.testdir({});
  const bad = join(dir, 'bad.service');
  const text = readFileSync(unitPath, 'utf8').replace('WatchdogSec=30', 'WatchdogSec=thirty');
  writeFileSync(bad, text);
  const r = run(ANALYZE, ['verify', bad]);
  t.equal(r.status, 0, 'systemd-analyze still exits 0…');
  t.match(r.stderr, /Failed to parse sec value/, '…but says so on stderr');
});

t.test('settings the daemon relies on', async (t) => {
  const text = readFileSync(unitPath, 'utf8');
  const has = (line: string) => t.ok(new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').test(text), line);
  for (const l of [
    'Type=notify',
    'NotifyAccess=main',
    'WatchdogSec=30',
    'Restart=always',
    'StartLimitIntervalSec=300',
    'StartLimitBurst=10',
    'User=mobilenet-edge',
    'StateDirectory=mobilenet-edge',
    'ConfigurationDirectory=mobilenet-edge',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'ProtectProc=invisible',
    'PrivateTmp=yes',
    'DevicePolicy=closed',
    'DeviceAllow=/dev/nvmap rw',
    'DeviceAllow=/dev/apex_0 rw',
    'DeviceAllow=char-usb_device rw',
    'KillMode=mixed',
  ])
    has(l);
  t.notMatch(text, /^MemoryDenyWriteExecute=yes/m, "V8's JIT needs W+X memory");
  t.match(text, /^DeviceAllow=\/dev\/nvhost-/m, 'Jetson nvhost devices');
});

t.test('sysusers file creates the service user', async (t) => {
  const dir = t.testdir({ etc: {} });
  const r = run(SYSUSERS, [`--root=${dir}`, join(root, 'systemd', 'mobilenet-edge.sysusers')]);
  t.equal(r.status, 0, r.stderr);
  const passwd = readFileSync(join(dir, 'etc', 'passwd'), 'utf8');
  t.match(passwd, /^mobilenet-edge:x:\d+:\d+:[^:]*:\/var\/lib\/mobilenet-edge:\/usr\/sbin\/nologin$/m);
  t.match(readFileSync(join(dir, 'etc', 'group'), 'utf8'), /^mobilenet-edge:x:\d+:/m);
});
