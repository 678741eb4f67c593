// `roamlink modem status` run as a subprocess against emulators of three vendors, a locked SIM, and broken devices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, startEmulator } from '../../lab/modem/testing.js';
import type { VendorProfile } from '../../lab/modem/modem.profiles.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function roamlink(args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile('node', [join(ROOT, 'bin/roamlink'), ...args], { timeout: timeoutMs, env: { ...process.env, ROAMLINK_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const sierraLike: VendorProfile = {
  name: 'sierra-like', family: '3gpp', manufacturer: 'Sierra Wireless, Incorporated', model: 'MC7455', firmware: 'SWI9X30C_02.33.03.00',
  echo: true, bearer: 'cgact', ussdPacked: false, bootUrcs: () => [], unknownReply: 'ERROR', prefixedIdentity: false,
  operator: { name: 'o2 - de', numeric: '26203' }, imei: '359072060123456', imsi: '262031112223334', iccid: '89490300001112223334',
};

test('status on a Huawei-like modem, human-readable', async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei', signal: { rsrp: -97, rsrq: -12, sinr: 6 } });
  const r = await roamlink(['modem', 'status', '--device', emu.devicePath]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    `device        ${emu.devicePath}`,
    'modem         huawei E3372 (firmware 22.328.62.00.1217)',
    'imei          ***********8901',
    'imsi          ***********7890',
    'sim           ready (3 PIN attempts left)',
    'registration  home, LTE (EPS home, GPRS home, CS home)',
    'operator      Telekom.de',
    'signal        LTE, RSRP -97 dBm, RSRQ -12 dB, SINR 6 dB, RSSI -72 dBm',
    'bearer        down',
    '',
  ].join('\n'));
});

test('status --json on vendors it has never been tuned for, with their habits', async (t) => {
  for (const [profile, habits] of [['quectel', {}], [sierraLike, { urcMidReply: true, garbage: true }]] as const) {
    const emu = await startEmulator(t, { profile, habits });
    const r = await roamlink(['modem', 'status', '--device', emu.devicePath, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const p = emu.profile;
    assert.deepEqual(
      [j.manufacturer, j.model, j.firmware, j.sim.state, j.registration.registered, j.registration.state, j.registration.rat, j.operator.name, j.signal.rat, j.signal.rsrp_dbm, j.bearer.connected],
      [p.manufacturer, p.model, p.firmware, 'ready', true, 'home', 'lte', p.operator.name, 'lte', -90, false],
      p.name,
    );
    assert.ok(!r.stdout.includes(p.imei) && !r.stdout.includes(p.imsi), 'IMEI and IMSI masked');
    assert.equal(j.imei, `***********${p.imei.slice(-4)}`);
  }
});

test('a PIN-locked SIM: reported as such; with --pin-file unlocked; a bad PIN file is bad input', async (t) => {
  const emu = await startEmulator(t, { profile: 'quectel', sim: { pin: '4711' } });
  const pinFile = join(emu.dir, 'sim.pin');
  const badFile = join(emu.dir, 'bad.pin');
  const openFile = join(emu.dir, 'open.pin');
  await writeFile(pinFile, '4711\n', { mode: 0o600 });
  await writeFile(badFile, 'one two\n', { mode: 0o600 });
  await writeFile(openFile, '4711\n', { mode: 0o644 });
  // Bad input is refused before the device is opened, so these run alongside the first read.
  const [locked, bad, missing, open] = await Promise.all([
    roamlink(['modem', 'status', '--device', emu.devicePath, '--json']),
    roamlink(['modem', 'status', '--device', emu.devicePath, '--pin-file', badFile]),
    roamlink(['modem', 'status', '--device', emu.devicePath, '--pin-file', join(emu.dir, 'nope')]),
    roamlink(['modem', 'status', '--device', emu.devicePath, '--pin-file', openFile]),
  ]);
  assert.equal(locked.code, 0, locked.stderr);
  const j = JSON.parse(locked.stdout);
  assert.deepEqual([j.sim.state, j.sim.pin_retries, j.registration.registered], ['pin', 3, false]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--pin-file: .* must hold a PIN of 4 to 8 digits/);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--pin-file: cannot read/);
  assert.equal(open.code, 2, 'a PIN file others can read is refused like a private key');
  assert.match(open.stderr, /--pin-file: .* accessible to group or others \(mode 0644\); run chmod 600/);
  assert.ok(!open.stderr.includes('4711'));
  const ok = await roamlink(['modem', 'status', '--device', emu.devicePath, '--json', '--pin-file', pinFile]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual([JSON.parse(ok.stdout).sim.state, JSON.parse(ok.stdout).sim.unlock], ['ready', 'unlocked']);
  assert.ok(!ok.stdout.includes('4711') && !ok.stderr.includes('4711'), 'the PIN is never printed');
});

test('no device, a device that never answers, a device unplugged mid-read: clear error, exit 1, bounded', async (t) => {
  const silent = await startEmulator(t, { profile: 'huawei', habits: { silent: true } });
  const emu = await startEmulator(t, { profile: 'huawei', habits: { slow: [{ match: /^AT\+COPS\?$/, delayMs: 3000 }] } });
  const unplugged = (async () => {
    const run = roamlink(['modem', 'status', '--device', emu.devicePath, '--at-timeout', '5s']);
    // Unplugged once the command is mid-read (its AT+COPS? asked, the reply 3 s off). Waited for as an event: a bound of
    // 3 s here unplugged the device before a slow start (Node alone took over 5 s under load) had even opened it, and
    // the command then rightly said "no such device", not "went away".
    for (let i = 0; i < 6000 && !emu.commands.includes('AT+COPS?'); i++) await sleep(10);
    assert.ok(emu.commands.includes('AT+COPS?'), `the command never asked AT+COPS? in 60 s: ${JSON.stringify(emu.commands)}`);
    await emu.unplug();
    return run;
  })();
  const [none, s, u, usage] = await Promise.all([
    roamlink(['modem', 'status', '--device', '/nonexistent/ttyUSB7']),
    roamlink(['modem', 'status', '--device', silent.devicePath, '--at-timeout', '300ms']),
    unplugged,
    roamlink(['modem', 'status']),
  ]);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, 'roamlink: /nonexistent/ttyUSB7: no such device\n');
  // Bounded, counted beyond what starting the command costs on this machine right now: `none` started at the same
  // moment and only starts, looks and exits (on a loaded 2-core box Node alone took over 5 s to start).
  assert.equal(s.code, 1);
  assert.match(s.stderr, /no reply to AT/);
  assert.ok(s.ms < none.ms + 3000, `took ${s.ms} ms (starting alone: ${none.ms} ms)`);
  assert.equal(u.code, 1);
  assert.match(u.stderr, /went away/);
  assert.ok(u.ms < none.ms + 4000, `took ${u.ms} ms (starting alone: ${none.ms} ms; the AT timeout is 5 s)`);
  assert.equal(usage.code, 2);
});
