// SMS commands: allow-list, shared secret (constant-time), verbs and arguments; replies from the handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorizeSms, secretEquals, type Authorization } from '../../agent/sms/sms.command.js';
import { normalizeNumber, numberAllowed } from '../../agent/sms/phone.js';
import { formatStatusReply, runSmsCommand, type SmsCommandHandlers } from '../../agent/sms/sms.handlers.js';

const policy = { allowed: ['+491701234567', '0049 171 7654321'], secret: 'k3y-9Qx' };

test('authorizeSms table', () => {
  const table: Array<{ name: string; from: string; text: string; want: Authorization; p?: typeof policy | { allowed: string[]; secret: undefined } }> = [
    { name: 'status', from: '+491701234567', text: 'k3y-9Qx STATUS', want: { ok: true, command: { verb: 'STATUS' } } },
    { name: 'lower-case verb, extra spaces', from: '+491701234567', text: '  k3y-9Qx   status ', want: { ok: true, command: { verb: 'STATUS' } } },
    { name: 'switch', from: '+491717654321', text: 'k3y-9Qx SWITCH wlan1', want: { ok: true, command: { verb: 'SWITCH', uplink: 'wlan1' } } },
    { name: 'callhome', from: '00491701234567', text: 'k3y-9Qx CALLHOME', want: { ok: true, command: { verb: 'CALLHOME' } } },
    { name: 'reload', from: '+49 170 1234567', text: 'k3y-9Qx reload', want: { ok: true, command: { verb: 'RELOAD' } } },
    { name: 'stranger with the secret', from: '+15550001111', text: 'k3y-9Qx STATUS', want: { ok: false, reason: 'sender-not-allowed' } },
    { name: 'wrong secret', from: '+491701234567', text: 'k3y-9Qy STATUS', want: { ok: false, reason: 'bad-secret' } },
    { name: 'secret case matters', from: '+491701234567', text: 'K3Y-9QX STATUS', want: { ok: false, reason: 'bad-secret' } },
    { name: 'no secret', from: '+491701234567', text: 'STATUS', want: { ok: false, reason: 'bad-secret' } },
    { name: 'secret only', from: '+491701234567', text: 'k3y-9Qx', want: { ok: false, reason: 'malformed' } },
    { name: 'unknown verb', from: '+491701234567', text: 'k3y-9Qx REBOOT', want: { ok: false, reason: 'unknown-command' } },
    { name: 'switch without uplink', from: '+491701234567', text: 'k3y-9Qx SWITCH', want: { ok: false, reason: 'malformed', verb: 'SWITCH' } },
    { name: 'switch with junk', from: '+491701234567', text: 'k3y-9Qx SWITCH wlan1;reboot now', want: { ok: false, reason: 'malformed', verb: 'SWITCH' } },
    { name: 'status with args', from: '+491701234567', text: 'k3y-9Qx STATUS please', want: { ok: false, reason: 'malformed', verb: 'STATUS' } },
    { name: 'no secret configured', from: '+491701234567', text: 'k3y-9Qx STATUS', p: { allowed: ['+491701234567'], secret: undefined }, want: { ok: false, reason: 'no-secret-configured' } },
    { name: 'non-ASCII text', from: '+491701234567', text: 'Grüße 🚓 STATUS', want: { ok: false, reason: 'bad-secret' } },
  ];
  for (const c of table) assert.deepEqual(authorizeSms(c.from, c.text, c.p ?? policy), c.want, c.name);
});

test('numbers and secrets', () => {
  assert.equal(normalizeNumber(' 0049 (170) 123-45.67 '), '+491701234567');
  assert.equal(numberAllowed('1266', ['1266']), true);
  assert.equal(numberAllowed('', ['']), false);
  assert.equal(secretEquals('abc', 'abc'), true);
  assert.equal(secretEquals('abc', 'abcd'), false);
  assert.equal(secretEquals('', 'x'), false);
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
