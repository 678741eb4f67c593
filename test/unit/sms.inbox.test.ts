// The inbox pass against a fake driver: commands run once and answered, strangers ignored and logged without text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../shared/log.js';
import { initialInboxState, processInbox, sendAlerts, type InboxPolicy } from '../../agent/sms/sms.inbox.js';
import type { SmsCommandHandlers } from '../../agent/sms/sms.handlers.js';
import type { SmsMessage } from '../../agent/drivers/modem/modem.driver.js';
import { otpKey, totp } from '../../agent/sms/otp.js';

const SECRET = 'Zebra-42-Lamp';
const policy: InboxPolicy = { allowed: ['+491701234567'], secret: SECRET, maxRepliesPerHour: 2, maxCommandsPerHour: 10, balanceShortCode: '1266', incompleteWaitMs: 60_000 };
/** Wall time of the first pass (a step boundary + 1 s), and the code of a step relative to it. */
const T0 = Date.UTC(2026, 11, 3, 8, 0, 1);
const code = (steps = 0) => totp(otpKey(SECRET), T0 + steps * 30_000);

function msg(id: number, from: string, text: string, extra: Partial<SmsMessage> = {}): SmsMessage {
  return { ids: [id], from, text, complete: true, parts: 1, status: 'unread', ...extra };
}

function fakeDriver(inbox: SmsMessage[]) {
  const sent: Array<{ to: string; text: string }> = [];
  const deleted: number[] = [];
  return {
    sent, deleted,
    smsList: async () => inbox.filter((m) => !m.ids.some((i) => deleted.includes(i))),
    smsDelete: async (ids: readonly number[]) => void deleted.push(...ids),
    smsSend: async (to: string, text: string) => { if (to === '+49000') throw new Error('CMS ERROR 500'); sent.push({ to, text }); return [1]; },
  };
}

function capture() {
  const lines: string[] = [];
  const log = createLogger({ name: 'sms', level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines };
}

const handlers = (calls: string[]): SmsCommandHandlers => ({
  status: async () => { calls.push('status'); return { vehicle: 'car-12', active: 'wlan0', uplinks: [], tunnel: { up: true } }; },
  switchUplink: async (u) => { calls.push(`switch ${u}`); return { ok: true, message: `switched to ${u}` }; },
  callHome: async () => { calls.push('callhome'); return { ok: true, message: 'LTE and tunnel up' }; },
  reload: async () => { calls.push('reload'); return { ok: true, message: 'reloaded' }; },
});

test('one pass: commands, strangers, wrong code, the secret in clear, balance reply, waiting and stale parts', async () => {
  const inbox = [
    msg(0, '+491701234567', `${code(-2)} STATUS`),
    msg(1, '+15550001111', `${code(-1)} SWITCH wlan1`),
    msg(2, '+491701234567', `${SECRET} CALLHOME`),
    msg(3, '1266', 'Ihr Guthaben: 4,56 EUR'),
    msg(4, '+491701234567', `${code(-1)} SWITCH wwan0`),
    { ...msg(5, '+491701234567', 'half of'), ids: [5], complete: false, parts: 2 },
    msg(6, '+491701234567', `${code(0)} RELOAD`),
    msg(7, '+491701234567', 'Привет! Как дела? 🚓'),
    msg(8, '+491701234567', `${code(-2)} CALLHOME`),
  ];
  const d = fakeDriver(inbox);
  const calls: string[] = [];
  const balances: string[] = [];
  const { log, lines } = capture();
  const r = await processInbox({ driver: d, handlers: handlers(calls), policy, state: initialInboxState, now: T0, log, onBalanceReply: (t) => balances.push(t) }, new AbortController().signal);
  assert.deepEqual(r.handled.map((h) => [h.from, h.outcome, 'reason' in h ? h.reason : 'verb' in h ? h.verb : '']), [
    ['+491701234567', 'command', 'STATUS'],
    ['+15550001111', 'rejected', 'sender-not-allowed'],
    ['+491701234567', 'rejected', 'bad-code'],
    ['1266', 'balance', ''],
    ['+491701234567', 'command', 'SWITCH'],
    ['+491701234567', 'waiting-parts', ''],
    ['+491701234567', 'command', 'RELOAD'],
    ['+491701234567', 'rejected', 'bad-code'],
    ['+491701234567', 'rejected', 'replayed'],
  ]);
  assert.deepEqual(calls, ['status', 'switch wwan0', 'reload']);
  assert.deepEqual(balances, ['Ihr Guthaben: 4,56 EUR']);
  // Reply limit 2 per hour: the third command ran but got no reply.
  assert.deepEqual(d.sent.map((s) => s.text), ['roamlink car-12: active wlan0; ; tunnel up', 'SWITCH wwan0: switched to wwan0']);
  assert.deepEqual(d.deleted, [0, 1, 2, 3, 4, 6, 7, 8]);
  assert.deepEqual(Object.keys(r.state.firstSeen), ['5']);
  // Never the secret, never a rejected text.
  const all = lines.join('');
  assert.ok(!all.includes(SECRET), 'secret logged');
  assert.ok(!all.includes('Zebra'), 'near-miss secret logged');
  assert.ok(!all.includes('Привет'), 'text of an ignored message logged');
  const ignored = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'sms ignored');
  assert.deepEqual(ignored.map((l) => [l.from, l.reason]), [['+15550001111', 'sender-not-allowed'], ['+491701234567', 'bad-code'], ['+491701234567', 'bad-code'], ['+491701234567', 'replayed']]);

  // Next pass within the wait: the part still waits; after it, the partial message is dropped.
  const r2 = await processInbox({ driver: d, handlers: handlers(calls), policy, state: r.state, now: T0 + 29_000, log }, new AbortController().signal);
  assert.deepEqual(r2.handled.map((h) => h.outcome), ['waiting-parts']);
  const r3 = await processInbox({ driver: d, handlers: handlers(calls), policy, state: r2.state, now: T0 + 60_000, log }, new AbortController().signal);
  assert.deepEqual(r3.handled.map((h) => h.outcome), ['incomplete-dropped']);
  assert.ok(d.deleted.includes(5));
});

test('commands run are rate limited; bad codes lock every command out, the lockout logged once', async () => {
  const tight: InboxPolicy = { ...policy, maxCommandsPerHour: 2, maxRepliesPerHour: 10 };
  const calls: string[] = [];
  const { log, lines } = capture();
  let state = initialInboxState;
  const pass = async (now: number, texts: string[]) => {
    const d = fakeDriver(texts.map((t, i) => msg(i, '+491701234567', t)));
    const r = await processInbox({ driver: d, handlers: handlers(calls), policy: tight, state, now, log }, new AbortController().signal);
    state = r.state;
    return r.handled.map((h) => ('reason' in h ? h.reason : h.outcome));
  };
  // Three good codes in three steps: the third command is refused (2 per hour), and no handler ran for it.
  assert.deepEqual(await pass(T0, [`${code(-2)} STATUS`, `${code(-1)} STATUS`, `${code(0)} CALLHOME`]), ['command', 'command', 'rate-limited']);
  assert.deepEqual(calls, ['status', 'status']);
  // An hour on: allowed again. Then five bad codes lock out; a good code is refused; 15 minutes on it works.
  const h = T0 + 3_600_000;
  const codeAt = (t: number) => totp(otpKey(SECRET), t);
  assert.deepEqual(await pass(h, [`${codeAt(h)} STATUS`, '111111 STATUS', '222222 STATUS', '333333 STATUS', '444444 STATUS', '555555 STATUS', `${codeAt(h + 30_000)} STATUS`]),
    ['command', 'bad-code', 'bad-code', 'bad-code', 'bad-code', 'bad-code', 'locked-out']);
  assert.deepEqual(await pass(h + 600_000, [`${codeAt(h + 600_000)} STATUS`]), ['locked-out']);
  assert.deepEqual(await pass(h + 960_000, [`${codeAt(h + 960_000)} STATUS`]), ['command']);
  assert.equal(lines.filter((l) => l.includes('"event":"sms.lockout"')).length, 1);
});

test('alerts go to every number; one failing number does not stop the rest', async () => {
  const d = fakeDriver([]);
  const n = await sendAlerts(d, ['a', 'b'], ['+491', '+49000', '+492'], new AbortController().signal);
  assert.equal(n, 4);
  assert.deepEqual(d.sent, [{ to: '+491', text: 'a' }, { to: '+492', text: 'a' }, { to: '+491', text: 'b' }, { to: '+492', text: 'b' }]);
});
