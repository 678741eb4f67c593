// No secret in any log line or error: the modem paths (dial, timeout, PIN entry, SMS commands) against the emulated modems, every line captured.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDriver, startEmulator, within } from '../../lab/modem/testing.js';
import type { Habits } from '../../lab/modem/modem.emulator.js';
import type { VendorProfile } from '../../lab/modem/modem.profiles.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { parseModemConfig } from '../../shared/config/modem.js';
import { createModemServices } from '../../agent/modem.services.js';
import { readSecretFile } from '../../shared/secret-file.js';
import type { SmsCommandHandlers } from '../../agent/sms/sms.handlers.js';
import { otpKey, totp } from '../../agent/sms/otp.js';

const PASSWORD = 'Tr0ub4dor&3-bearer';
const USER = 'fleet-user';
const PIN = '4711';
const SMS_SECRET = 'kettle-Orbit-9137';

/** A debug-level logger whose every line is kept as text; and a place for every error the test caught. */
function capture() {
  const lines: string[] = [];
  const errors: unknown[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const log: Logger = createLogger({ name: 'secrets-test', level: 'trace', destination });
  /** Runs `fn`; an error it throws is kept (message, stack, fields, lines) and handed back. */
  const caught = async (fn: () => Promise<unknown>): Promise<unknown> => {
    try {
      await fn();
      return undefined;
    } catch (err) {
      errors.push(err);
      return err;
    }
  };
  /** Every text the test saw: log lines and each error as message, stack and JSON of its fields. */
  const texts = () => [...lines, ...errors.flatMap((e) => e instanceof Error ? [e.message, e.stack ?? '', JSON.stringify({ ...e }), String(e)] : [String(e)])];
  return { log, lines, errors, caught, texts };
}

function assertClean(t: TestContext, texts: string[], secrets: readonly string[], what: string): void {
  assert.ok(texts.length > 0, `${what}: something was captured`);
  for (const s of secrets) {
    // A digits-only secret (a PIN) is looked for as a number of its own: '4711' inside a timestamp such as
    // "time":1796291114711 is not a leak (this test failed twice on exactly that).
    const re = /^\d+$/.test(s) ? new RegExp(`(?<!\\d)${s}(?!\\d)`) : null;
    const hit = texts.find((x) => (re ? re.test(x) : x.includes(s)));
    assert.equal(hit, undefined, `${what}: secret "${s.slice(0, 2)}…" found in: ${hit?.slice(0, 200)}`);
  }
  t.diagnostic(`${what}: ${texts.length} texts searched`);
}

/** A vendor no dialect knows: plain 3GPP, +CGAUTH and +CGACT. */
const generic: VendorProfile = {
  name: 'generic', family: '3gpp', manufacturer: 'Sierra Wireless, Incorporated', model: 'MC7455', firmware: 'SWI9X30C_02.33.03.00',
  echo: true, bearer: 'cgact', ussdPacked: false, bootUrcs: () => [], unknownReply: 'ERROR', prefixedIdentity: false,
  operator: { name: 'o2 - de', numeric: '26203' }, imei: '359072060123456', imsi: '262031112223334', iccid: '89490300001112223334',
};

for (const profile of ['huawei', 'quectel', generic] as const) {
  const name = typeof profile === 'string' ? profile : profile.name;
  test(`${name}: dialing with a bearer password, and the dial timing out, log and report no password`, async (t) => {
    const c = capture();
    const emu = await startEmulator(t, { profile });
    const d = await openDriver(t, emu, { log: c.log });
    const bearer = { apn: 'internet.lab', user: USER, password: PASSWORD, auth: 'chap' as const };
    await d.connect(bearer, within());
    const sent = emu.commands.find((x) => x.includes(PASSWORD));
    assert.ok(sent, 'the password did reach the modem');
    await d.disconnect(within());
    // The dial command never answered: a timeout, logged at warn and thrown; then refused with an error final.
    const slow = profile === 'huawei' ? /\^NDISDUP=/ : /\+CGAUTH=|\+CGACT=1/;
    emu.setHabits({ slow: [{ match: slow, delayMs: 2500 }] });
    const timedOut = await c.caught(() => d.connect(bearer, within(5000)));
    await new Promise((r) => setTimeout(r, 1200)); // the late reply's grace, so the next dial starts clean
    assert.ok(timedOut, 'the dial timed out');
    assert.ok(c.lines.some((l) => l.includes('at command timed out')), 'the timeout was logged');
    emu.setHabits({ slow: [], errors: [{ match: slow, reply: '+CME ERROR: 30' }] });
    await c.caught(() => d.connect(bearer, within(5000)));
    assert.ok(c.lines.some((l) => /NDISDUP|CGAUTH/.test(l)), 'the dial commands were logged (by name)');
    assertClean(t, c.texts(), [PASSWORD], `${name} dial`);
  });
}

test('PIN entry: right, wrong and unanswered PINs log and report no PIN', async (t) => {
  const c = capture();
  const cases: Array<[string, Partial<Habits>]> = [[PIN, {}], ['8265', {}], [PIN, { slow: [{ match: /\+CPIN=/, delayMs: 2500 }] }]];
  for (const [pin, habits] of cases) {
    const emu = await startEmulator(t, { profile: 'quectel', sim: { pin: PIN }, habits });
    const d = await openDriver(t, emu, { log: c.log });
    const r = await c.caught(() => d.unlock(pin, within(6000)));
    assert.equal(r, undefined);
    assert.ok(emu.commands.some((x) => x.includes(pin)), 'the PIN did reach the modem');
  }
  assert.ok(c.lines.some((l) => l.includes('wrong-pin')) && c.lines.some((l) => l.includes('unlocked')));
  assert.ok(c.lines.some((l) => l.includes('at command timed out')));
  assertClean(t, c.texts(), [PIN, '8265'], 'PIN entry');
});

test('SMS commands: the secret in a command, in a bad one and alone logs and reports nothing of it', async (t) => {
  const c = capture();
  const emu = await startEmulator(t, { profile: 'huawei' });
  const d = await openDriver(t, emu, { log: c.log });
  const secretFile = join(emu.dir, 'sms.secret');
  await writeFile(secretFile, `${SMS_SECRET}\n`, { mode: 0o600 });
  const handlers: SmsCommandHandlers = {
    status: async () => ({ vehicle: 'car-1', uplinks: [], tunnel: { up: true } }),
    switchUplink: async () => { throw new Error('switch failed'); },
    callHome: async () => ({ ok: true, message: 'ok' }),
    reload: async () => ({ ok: false, message: 'no' }),
  };
  const services = createModemServices({
    vehicle: 'car-1', log: c.log, now: () => Date.now(), handlers, facts: () => ({ wifiUp: true, tunnelUp: true }),
    modem: parseModemConfig({ device: emu.devicePath, apn: 'a', sms: { command_numbers: ['+491701234567'], secret_file: secretFile } }),
  });
  // Codes of three steps (each accepted code spends the older ones), the secret sent in clear (the old way), junk.
  const now = Date.now();
  const code = (steps: number) => totp(otpKey(SMS_SECRET), now + steps * 30_000);
  emu.deliverSms('+491701234567', `${code(-2)} STATUS`);
  emu.deliverSms('+491701234567', `${code(-1)} SWITCH wlan9`);
  emu.deliverSms('+491701234567', `${code(0)} BOGUS words`);
  emu.deliverSms('+491709999999', `${code(0)} STATUS`);
  emu.deliverSms('+491701234567', `${SMS_SECRET} STATUS`);
  emu.deliverSms('+491701234567', SMS_SECRET);
  await c.caught(() => services.pass(d, within(8000)));
  assert.equal(emu.sent.length, 2, 'two commands answered');
  assert.ok(c.lines.filter((l) => l.includes('sms ignored')).length >= 4);
  assertClean(t, c.texts(), [SMS_SECRET, code(-2), code(-1)], 'SMS commands');
});

test('secret files: refused when group or others can read them, and the error names the field, not the content', async (t) => {
  const emu = await startEmulator(t, { profile: 'quectel' });
  const path = join(emu.dir, 'bearer.password');
  await writeFile(path, PASSWORD, { mode: 0o640 });
  const err = await readSecretFile(path, 'modem.password_file').then(() => undefined, (e: Error) => e);
  assert.match(String(err?.message), /^modem\.password_file: .* accessible to group or others \(mode 0640\); run chmod 600/);
  assert.ok(!String(err?.message).includes(PASSWORD));
  await writeFile(join(emu.dir, 'ok'), `${PASSWORD}\n`, { mode: 0o600 });
  assert.equal(await readSecretFile(join(emu.dir, 'ok'), 'f'), PASSWORD);
});
