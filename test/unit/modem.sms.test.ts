// SMS, USSD and balance through the driver and the emulator on a real pty: multi-part UCS2 both ways, commands, balance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextEvent, openDriver, sleep, startEmulator, until, within } from '../../lab/modem/testing.js';
import { initialInboxState, processInbox } from '../../agent/sms/sms.inbox.js';
import type { SmsCommandHandlers } from '../../agent/sms/sms.handlers.js';
import { balanceFromText, checkBalanceUssd, requestBalanceSms } from '../../agent/balance/balance.check.js';
import { createLogger } from '../../shared/log.js';
import { otpKey, totp } from '../../agent/sms/otp.js';

const LONG_UCS2 = 'Einsatz: Fahrzeug 12 bitte Rückmeldung. Улица Ленина 5, подъезд 2. 🚑 ' + 'Ende der Nachricht. '.repeat(3);

test('inbox: multi-part UCS2 arriving out of order is joined; +CMTI announces each part; delete works', async (t) => {
  for (const profile of ['huawei', 'quectel'] as const) {
    const emu = await startEmulator(t, { profile });
    const d = await openDriver(t, emu);
    const note = nextEvent(d, 'modem.sms');
    const ids = emu.deliverSms('+491701234567', LONG_UCS2, { order: [1, 0] });
    assert.equal(ids.length, 2);
    assert.deepEqual(await note, { type: 'modem.sms', storage: 'SM', index: ids[0] });
    emu.deliverSms('Vodafone', 'Ihr Guthaben wurde aufgeladen: 15,00 EUR');
    emu.deliverSms('+491709999999', 'x'.repeat(200) + '€[]', {});
    const list = await d.smsList(within());
    assert.equal(list.length, 3);
    assert.deepEqual(list[0], { ids: [ids[0]!, ids[1]!].sort(), from: '+491701234567', text: LONG_UCS2, complete: true, parts: 2, status: 'unread', timestamp: list[0]!.timestamp });
    assert.equal(list[1]!.from, 'Vodafone');
    assert.equal(list[2]!.text, 'x'.repeat(200) + '€[]');
    assert.equal(list[2]!.parts, 2);
    await d.smsDelete(list.flatMap((m) => m.ids), within());
    assert.deepEqual(await d.smsList(within()), []);
  }
});

test('send: multi-part UCS2 and GSM texts arrive whole', async (t) => {
  const emu = await startEmulator(t, { profile: 'quectel' });
  const d = await openDriver(t, emu);
  const refs = await d.smsSend('+491701234567', LONG_UCS2, within());
  assert.equal(refs.length, 2);
  await d.smsSend('+491701234567', 'roamlink car-12: fell back to LTE (wwan0)', within());
  assert.deepEqual(emu.sent, [
    { to: '+491701234567', text: LONG_UCS2, parts: 2 },
    { to: '+491701234567', text: 'roamlink car-12: fell back to LTE (wwan0)', parts: 1 },
  ]);
});

test('USSD: Huawei packed GSM 7-bit, Quectel plain text, UCS2 replies; balance parsed', async (t) => {
  for (const [profile, ucs2] of [['huawei', false], ['quectel', false], ['quectel', true], ['huawei', true]] as const) {
    const emu = await startEmulator(t, { profile });
    emu.setUssdReply('*101#', 'Guthaben: 7,35 € - Tarif Prepaid', { ucs2 });
    const d = await openDriver(t, emu);
    const b = await checkBalanceUssd(d, '*101#', within(), () => 1);
    assert.deepEqual([b.amount, b.currency], [7.35, 'EUR'], `${profile} ucs2=${ucs2}`);
    if (!ucs2) assert.equal(emu.commands.at(-1), profile === 'huawei' ? 'AT+CUSD=1,"AA182C3602",15' : 'AT+CUSD=1,"*101#",15');
    const plain = await checkBalanceUssd(d, '*100#', within(), () => 2);
    assert.deepEqual([plain.amount, plain.currency, plain.text], [12.34, 'EUR', 'Ihr Guthaben: 12,34 EUR. Gueltig bis 31.12.']);
    const unknown = await d.ussd('*999#', within());
    assert.equal(unknown.status, 4);
  }
});

test('balance by SMS: SALDO to 1266, the reply comes back through the inbox', async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei' });
  const d = await openDriver(t, emu);
  const arrived = nextEvent(d, 'modem.sms');
  await requestBalanceSms(d, '1266', 'SALDO', within());
  await arrived;
  const got: string[] = [];
  const handlers = {} as SmsCommandHandlers;
  const r = await processInbox({
    driver: d, handlers, state: initialInboxState, now: 0, onBalanceReply: (text) => got.push(text),
    policy: { allowed: [], secret: undefined, maxRepliesPerHour: 10, maxCommandsPerHour: 10, balanceShortCode: '1266', incompleteWaitMs: 60_000 },
  }, within());
  assert.deepEqual(r.handled.map((h) => h.outcome), ['balance']);
  assert.equal(balanceFromText(got[0]!, 'sms', 0).amount, 4.56);
});

test('SMS commands end to end: a one-time code in a UCS2 message works, strangers are ignored, the reply is sent', async (t) => {
  const emu = await startEmulator(t, { profile: 'quectel' });
  const d = await openDriver(t, emu);
  const lines: string[] = [];
  const log = createLogger({ name: 'sms', level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
  const now = Date.UTC(2026, 11, 3, 8, 0, 1);
  const code = (steps: number) => totp(otpKey('Tür-Schlüssel-7'), now + steps * 30_000);
  emu.deliverSms('+491701234567', `${code(-1)} SWITCH wlan1 ü`.replace(' ü', ''), { ucs2: true });
  emu.deliverSms('+15550001111', `${code(0)} CALLHOME`);
  emu.deliverSms('+491701234567', `${code(0)} STATUS`);
  await until(() => emu.model.inbox.size === 3, 1000, 'inbox');
  const calls: string[] = [];
  const handlers: SmsCommandHandlers = {
    status: async () => ({ vehicle: 'car-12', active: 'wlan1', tunnel: { up: true, rttMs: 21 }, uplinks: [{ name: 'wlan1', kind: 'wifi', state: 'active', signalDbm: -60 }, { name: 'wwan0', kind: 'lte', state: 'standby', signalDbm: -90 }] }),
    switchUplink: async (u) => { calls.push(`switch ${u}`); return { ok: true, message: `switched to ${u}` }; },
    callHome: async () => { calls.push('callhome'); return { ok: true, message: 'up' }; },
    reload: async () => ({ ok: true, message: 'reloaded' }),
  };
  const r = await processInbox({
    driver: d, handlers, state: initialInboxState, now, log,
    policy: { allowed: ['+491701234567'], secret: 'Tür-Schlüssel-7', maxRepliesPerHour: 10, maxCommandsPerHour: 10, incompleteWaitMs: 60_000 },
  }, within());
  assert.deepEqual(r.handled.map((h) => h.outcome), ['command', 'rejected', 'command']);
  assert.deepEqual(calls, ['switch wlan1']);
  assert.deepEqual(emu.sent.map((s) => s.text), [
    'SWITCH wlan1: switched to wlan1',
    'roamlink car-12: active wlan1; wlan1* active -60dBm, wwan0 standby -90dBm; tunnel up 21ms',
  ]);
  assert.equal(emu.model.inbox.size, 0);
  assert.ok(!lines.join('').includes('Schlüssel'), 'the secret is never logged');
});

test('USSD: the device vanishing while the reply is awaited ends the wait at once', async (t) => {
  const emu = await startEmulator(t, { profile: 'quectel' });
  emu.setUssdReply('*123#', 'Guthaben 1,00 EUR', { delayMs: 5000 });
  const d = await openDriver(t, emu);
  const wait = assert.rejects(d.ussd('*123#', AbortSignal.timeout(10_000)), (e: unknown) => e instanceof Error && /closed/.test(e.message + String((e as { kind?: string }).kind)));
  await until(() => emu.commands.includes('AT+CUSD=1,"*123#",15'), 1000, 'USSD sent');
  await sleep(50);
  const t0 = Date.now();
  await emu.unplug();
  await wait;
  assert.ok(Date.now() - t0 < 1000);
});
