// The inbox pass against a fake driver: commands run once and answered, strangers ignored and logged without text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../shared/log.js';
import { initialInboxState, processInbox, sendAlerts, type InboxPolicy } from '../../agent/sms/sms.inbox.js';
import type { SmsCommandHandlers } from '../../agent/sms/sms.handlers.js';
import type { SmsMessage } from '../../agent/drivers/modem/modem.driver.js';

const SECRET = 'Zebra-42-Lamp';
const policy: InboxPolicy = { allowed: ['+491701234567'], secret: SECRET, maxRepliesPerHour: 2, balanceShortCode: '1266', incompleteWaitMs: 60_000 };

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

test('one pass: commands, strangers, wrong secret, balance reply, waiting and stale parts', async () => {
  const inbox = [
    msg(0, '+491701234567', `${SECRET} STATUS`),
    msg(1, '+15550001111', `${SECRET} SWITCH wlan1`),
    msg(2, '+491701234567', 'Zebra-42-Lamb CALLHOME'),
    msg(3, '1266', 'Ihr Guthaben: 4,56 EUR'),
    msg(4, '+491701234567', `${SECRET} SWITCH wwan0`),
    { ...msg(5, '+491701234567', 'half of'), ids: [5], complete: false, parts: 2 },
    msg(6, '+491701234567', `${SECRET} RELOAD`),
    msg(7, '+491701234567', 'Привет! Как дела? 🚓'),
  ];
  const d = fakeDriver(inbox);
  const calls: string[] = [];
  const balances: string[] = [];
  const { log, lines } = capture();
  const r = await processInbox({ driver: d, handlers: handlers(calls), policy, state: initialInboxState, now: 1000, log, onBalanceReply: (t) => balances.push(t) }, new AbortController().signal);
  assert.deepEqual(r.handled.map((h) => [h.from, h.outcome, 'reason' in h ? h.reason : 'verb' in h ? h.verb : '']), [
    ['+491701234567', 'command', 'STATUS'],
    ['+15550001111', 'rejected', 'sender-not-allowed'],
    ['+491701234567', 'rejected', 'bad-secret'],
    ['1266', 'balance', ''],
    ['+491701234567', 'command', 'SWITCH'],
    ['+491701234567', 'waiting-parts', ''],
    ['+491701234567', 'command', 'RELOAD'],
    ['+491701234567', 'rejected', 'bad-secret'],
  ]);
  assert.deepEqual(calls, ['status', 'switch wwan0', 'reload']);
  assert.deepEqual(balances, ['Ihr Guthaben: 4,56 EUR']);
  // Reply limit 2 per hour: the third command ran but got no reply.
  assert.deepEqual(d.sent.map((s) => s.text), ['roamlink car-12: active wlan0; ; tunnel up', 'SWITCH wwan0: switched to wwan0']);
  assert.deepEqual(d.deleted, [0, 1, 2, 3, 4, 6, 7]);
  assert.deepEqual(Object.keys(r.state.firstSeen), ['5']);
  // Never the secret, never a rejected text.
  const all = lines.join('');
  assert.ok(!all.includes(SECRET), 'secret logged');
  assert.ok(!all.includes('Zebra'), 'near-miss secret logged');
  assert.ok(!all.includes('Привет'), 'text of an ignored message logged');
  const ignored = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'sms ignored');
  assert.deepEqual(ignored.map((l) => [l.from, l.reason]), [['+15550001111', 'sender-not-allowed'], ['+491701234567', 'bad-secret'], ['+491701234567', 'bad-secret']]);

  // Next pass within the wait: the part still waits; after it, the partial message is dropped.
  const r2 = await processInbox({ driver: d, handlers: handlers(calls), policy, state: r.state, now: 30_000, log }, new AbortController().signal);
  assert.deepEqual(r2.handled.map((h) => h.outcome), ['waiting-parts']);
  const r3 = await processInbox({ driver: d, handlers: handlers(calls), policy, state: r2.state, now: 61_000, log }, new AbortController().signal);
  assert.deepEqual(r3.handled.map((h) => h.outcome), ['incomplete-dropped']);
  assert.ok(d.deleted.includes(5));
});

test('alerts go to every number; one failing number does not stop the rest', async () => {
  const d = fakeDriver([]);
  const n = await sendAlerts(d, ['a', 'b'], ['+491', '+49000', '+492'], new AbortController().signal);
  assert.equal(n, 4);
  assert.deepEqual(d.sent, [{ to: '+491', text: 'a' }, { to: '+492', text: 'a' }, { to: '+491', text: 'b' }, { to: '+492', text: 'b' }]);
});
