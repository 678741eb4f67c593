// One-time codes of SMS commands: RFC 4226 and RFC 6238 test vectors, the code window, replay, lockout, on a simulated clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCode, DEFAULT_OTP_POLICY, hotp, initialOtpState, otpKey, totp, type OtpState } from '../../agent/sms/otp.js';

const RFC_KEY = Buffer.from('12345678901234567890');

test('HOTP: the RFC 4226 appendix D values', () => {
  const want = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  assert.deepEqual(want.map((_, i) => hotp(RFC_KEY, i)), want);
});

test('TOTP: the RFC 6238 appendix B SHA-1 values (their last 6 of 8 digits)', () => {
  const table: Array<[number, string]> = [[59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'], [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130']];
  for (const [t, eight] of table) assert.equal(totp(RFC_KEY, t * 1000), eight.slice(-6), `T=${t}`);
});

const KEY = otpKey('kettle-Orbit-9137');
const T0 = Date.UTC(2026, 11, 3, 8, 0, 0); // a step boundary
const S = 30_000;
const code = (t: number) => totp(KEY, t);

test('the window: 4 steps back (a delayed SMS), 1 ahead (a fast clock); outside it a bad code', () => {
  const table: Array<{ name: string; sentAt: number; want: 'ok' | 'bad-code' }> = [
    { name: 'now', sentAt: T0, want: 'ok' },
    { name: '2 min late', sentAt: T0 - 4 * S, want: 'ok' },
    { name: '2.5 min late', sentAt: T0 - 5 * S, want: 'bad-code' },
    { name: '30 s ahead', sentAt: T0 + S, want: 'ok' },
    { name: '60 s ahead', sentAt: T0 + 2 * S, want: 'bad-code' },
  ];
  for (const c of table) {
    const v = checkCode(initialOtpState, KEY, code(c.sentAt), T0 + 1000);
    assert.equal(v.ok ? 'ok' : v.reason, c.want, c.name);
  }
  for (const junk of ['', '12345', '1234567', 'abcdef', '12 345', '１２３４５６']) assert.equal(checkCode(initialOtpState, KEY, junk, T0).ok, false, junk);
});

test('replay: a code once accepted is spent, and so is every older one', () => {
  const first = checkCode(initialOtpState, KEY, code(T0), T0);
  assert.ok(first.ok);
  const again = checkCode(first.state, KEY, code(T0), T0 + 5000);
  assert.deepEqual([again.ok, !again.ok && again.reason], [false, 'replayed']);
  const older = checkCode(first.state, KEY, code(T0 - S), T0 + 5000);
  assert.deepEqual([older.ok, !older.ok && older.reason], [false, 'replayed']);
  const next = checkCode(first.state, KEY, code(T0 + S), T0 + S + 1000);
  assert.ok(next.ok, 'the next step\'s code works');
  // A replay is not a bad code: it does not count towards the lockout.
  assert.deepEqual(again.state.failures, []);
});

test('lockout: the 5th bad code within 15 min locks every command out for 15 min, even a good code; then it opens', () => {
  let st: OtpState = initialOtpState;
  let t = T0;
  for (let i = 0; i < 4; i++) {
    const v = checkCode(st, KEY, '000000', (t += 10_000));
    assert.deepEqual([v.ok, !v.ok && v.reason], [false, 'bad-code']);
    st = v.state;
  }
  assert.equal(st.lockedUntil, null);
  const fifth = checkCode(st, KEY, '000000', (t += 10_000));
  st = fifth.state;
  assert.equal(st.lockedUntil, t + DEFAULT_OTP_POLICY.lockoutMs);
  const good = checkCode(st, KEY, code(t + 60_000), t + 60_000);
  assert.deepEqual([good.ok, !good.ok && good.reason], [false, 'locked-out']);
  const after = checkCode(good.state, KEY, code(t + 900_000), t + 900_000);
  assert.ok(after.ok, 'open again after 15 min');
  // Bad codes spread wider than the window never lock.
  let spread: OtpState = initialOtpState;
  for (let i = 0; i < 10; i++) spread = checkCode(spread, KEY, '000000', T0 + i * 300_000).state;
  assert.equal(spread.lockedUntil, null);
});

test('`roamlink sms code` prints the code an operator sends (the same as the vehicle checks); a bad secret file is bad input', async (t) => {
  const { execFile } = await import('node:child_process');
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'rl-sms-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = new URL('../../../bin/roamlink', import.meta.url).pathname;
  const roamlink = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [bin, ...args], (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }));
  });
  const good = join(dir, 'sms.secret');
  const short = join(dir, 'short.secret');
  const open = join(dir, 'open.secret');
  await writeFile(good, 'kettle-Orbit-9137\n', { mode: 0o600 });
  await writeFile(short, 'kettle\n', { mode: 0o600 });
  await writeFile(open, 'kettle-Orbit-9137\n', { mode: 0o644 });
  const [ok, json, tooShort, tooOpen] = await Promise.all([
    roamlink(['sms', 'code', '--secret-file', good, '--at', '2026-12-03T08:00:10Z']),
    roamlink(['sms', 'code', '--secret-file', good, '--at', '2026-12-03T08:00:10Z', '--json']),
    roamlink(['sms', 'code', '--secret-file', short]),
    roamlink(['sms', 'code', '--secret-file', open]),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), totp(KEY, Date.UTC(2026, 11, 3, 8, 0, 10)));
  assert.deepEqual(JSON.parse(json.stdout), { code: ok.stdout.trim(), valid_from: '2026-12-03T08:00:00.000Z', valid_until: '2026-12-03T08:00:30.000Z' });
  assert.equal(tooShort.code, 2);
  assert.match(tooShort.stderr, /--secret-file: .* at least 12 characters/);
  assert.equal(tooOpen.code, 2);
  assert.match(tooOpen.stderr, /--secret-file: .* accessible to group or others/);
  assert.ok(![ok, json, tooShort, tooOpen].some((r) => (r.stdout + r.stderr).includes('kettle')), 'the secret is never printed');
});
