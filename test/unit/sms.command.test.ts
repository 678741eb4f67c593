// SMS commands: allow-list, one-time code (TOTP of the shared secret), verbs and arguments; replies from the handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorizeSms, type Authorization } from '../../agent/sms/sms.command.js';
import { normalizeNumber, numberAllowed } from '../../agent/sms/phone.js';
import { initialOtpState, otpKey, totp } from '../../agent/sms/otp.js';
import { formatStatusReply, runSmsCommand, type SmsCommandHandlers } from '../../agent/sms/sms.handlers.js';

const SECRET = 'k3y-9Qx-lamp-42';
const policy = { allowed: ['+491701234567', '0049 171 7654321'], secret: SECRET };
const NOW = Date.UTC(2026, 11, 3, 8, 0, 10);
const CODE = totp(otpKey(SECRET), NOW);
const OTHER = CODE === '000000' ? '000001' : '000000';

test('authorizeSms table: sender, command words, then the one-time code', () => {
  const table: Array<{ name: string; from: string; text: string; want: Authorization; p?: { allowed: string[]; secret: string | undefined } }> = [
    { name: 'status', from: '+491701234567', text: `${CODE} STATUS`, want: { ok: true, command: { verb: 'STATUS' } } },
    { name: 'lower-case verb, extra spaces', from: '+491701234567', text: `  ${CODE}   status `, want: { ok: true, command: { verb: 'STATUS' } } },
    { name: 'switch', from: '+491717654321', text: `${CODE} SWITCH wlan1`, want: { ok: true, command: { verb: 'SWITCH', uplink: 'wlan1' } } },
    { name: 'callhome', from: '00491701234567', text: `${CODE} CALLHOME`, want: { ok: true, command: { verb: 'CALLHOME' } } },
    { name: 'reload', from: '+49 170 1234567', text: `${CODE} reload`, want: { ok: true, command: { verb: 'RELOAD' } } },
    { name: 'stranger with the code', from: '+15550001111', text: `${CODE} STATUS`, want: { ok: false, reason: 'sender-not-allowed' } },
    { name: 'wrong code', from: '+491701234567', text: `${OTHER} STATUS`, want: { ok: false, reason: 'bad-code' } },
    { name: 'the secret itself, in clear (the old way)', from: '+491701234567', text: `${SECRET} STATUS`, want: { ok: false, reason: 'bad-code' } },
    { name: 'no code', from: '+491701234567', text: 'STATUS', want: { ok: false, reason: 'bad-code' } },
    { name: 'code only', from: '+491701234567', text: CODE, want: { ok: false, reason: 'malformed' } },
    { name: 'unknown verb', from: '+491701234567', text: `${CODE} REBOOT`, want: { ok: false, reason: 'unknown-command' } },
    { name: 'switch without uplink', from: '+491701234567', text: `${CODE} SWITCH`, want: { ok: false, reason: 'malformed', verb: 'SWITCH' } },
    { name: 'switch with junk', from: '+491701234567', text: `${CODE} SWITCH wlan1;reboot now`, want: { ok: false, reason: 'malformed', verb: 'SWITCH' } },
    { name: 'status with args', from: '+491701234567', text: `${CODE} STATUS please`, want: { ok: false, reason: 'malformed', verb: 'STATUS' } },
    { name: 'no secret configured', from: '+491701234567', text: `${CODE} STATUS`, p: { allowed: ['+491701234567'], secret: undefined }, want: { ok: false, reason: 'no-secret-configured' } },
    { name: 'non-ASCII text', from: '+491701234567', text: 'Grüße 🚓 STATUS', want: { ok: false, reason: 'bad-code' } },
  ];
  for (const c of table) assert.deepEqual(authorizeSms(c.from, c.text, c.p ?? policy, initialOtpState, NOW).auth, c.want, c.name);
});

test('authorizeSms keeps the OTP state: the same code twice is a replay', () => {
  const first = authorizeSms('+491701234567', `${CODE} STATUS`, policy, initialOtpState, NOW);
  assert.equal(first.auth.ok, true);
  const again = authorizeSms('+491701234567', `${CODE} CALLHOME`, policy, first.otp, NOW + 2000);
  assert.deepEqual(again.auth, { ok: false, reason: 'replayed' });
});

test('numbers', () => {
  assert.equal(normalizeNumber(' 0049 (170) 123-45.67 '), '+491701234567');
  assert.equal(numberAllowed('1266', ['1266']), true);
  assert.equal(numberAllowed('', ['']), false);
});

const handlers = (over: Partial<SmsCommandHandlers> = {}): SmsCommandHandlers => ({
  status: async () => ({
    vehicle: 'car-12', active: 'wwan0', tunnel: { up: true, rttMs: 48.2 }, balance: { amount: 12.3, currency: 'EUR' },
    uplinks: [
      { name: 'wlan0', kind: 'wifi', state: 'scanning' },
      { name: 'wlan1', kind: 'wifi', state: 'standby', signalDbm: -71 },
      { name: 'wwan0', kind: 'lte', state: 'active', signalDbm: -95 },
    ],
  }),
  switchUplink: async (u) => ({ ok: u !== 'wlan9', message: u === 'wlan9' ? 'no such uplink' : `switched to ${u}` }),
  callHome: async () => ({ ok: true, message: 'LTE up, tunnel up' }),
  reload: async () => { throw new Error('config: apn: required'); },
  ...over,
});

test('command replies', async () => {
  assert.deepEqual(await runSmsCommand({ verb: 'STATUS' }, handlers()), {
    ok: true, reply: 'roamlink car-12: active wwan0; wlan0 scanning, wlan1 standby -71dBm, wwan0* active -95dBm; tunnel up 48ms; balance 12.30 EUR',
  });
  assert.deepEqual(await runSmsCommand({ verb: 'SWITCH', uplink: 'wlan9' }, handlers()), { ok: false, reply: 'SWITCH wlan9: no such uplink' });
  assert.deepEqual(await runSmsCommand({ verb: 'CALLHOME' }, handlers()), { ok: true, reply: 'CALLHOME: LTE up, tunnel up' });
  assert.deepEqual(await runSmsCommand({ verb: 'RELOAD' }, handlers()), { ok: false, reply: 'RELOAD: failed (config: apn: required)' });
  assert.equal(formatStatusReply({ vehicle: 'v', uplinks: [], tunnel: { up: false } }), 'roamlink v: active none; ; tunnel down');
});
