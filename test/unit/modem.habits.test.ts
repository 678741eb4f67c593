// The driver against the emulator's habits on a real pty: echo, slow replies, URCs mid-reply, errors, garbage,
// silence, a PIN-locked SIM and its retry counter, and the device vanishing and coming back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextEvent, openDriver, sleep, startEmulator, until, within } from '../../lab/modem/testing.js';
import { readModemStatus } from '../../agent/drivers/modem/modem.status.js';
import { AtError } from '../../agent/drivers/modem/at.engine.js';
import { DeviceError, devicePresent } from '../../agent/drivers/modem/at.port.js';
import { memoryPinGuard } from '../../agent/drivers/modem/modem.driver.js';
import { openAtModem } from '../../agent/drivers/modem/modem.at.js';

test('echo on and off, per profile default and forced', async (t) => {
  for (const [profile, echo] of [['huawei', undefined], ['quectel', undefined], ['quectel', true], ['huawei', false]] as const) {
    const emu = await startEmulator(t, { profile, echo });
    assert.equal(emu.state.echo, echo ?? emu.profile.echo);
    const d = await openDriver(t, emu);
    const st = await readModemStatus(d, within());
    assert.equal(st.model, emu.profile.model, `${profile} echo ${echo}`);
    assert.equal(st.signal.rsrpDbm, -90);
  }
});

test('slow replies: within the timeout they are fine; past it the call fails and the late reply is not mistaken', async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei', habits: { replyDelayMs: 5 } });
  const d = await openDriver(t, emu, { timeouts: { default: 300, network: 300 }, lateReplyGraceMs: 600 });
  assert.equal((await readModemStatus(d, within())).model, 'E3372');
  emu.setHabits({ slow: [{ match: /^AT\+COPS\?$/, delayMs: 500 }] });
  await assert.rejects(d.operator(within()), (e: unknown) => e instanceof AtError && e.kind === 'timeout');
  // The next command waits out the late +COPS reply and gets its own.
  const s = await d.signal(within());
  assert.equal(s.rsrpDbm, -90);
  assert.equal(d.noise.late, 1);
  emu.setHabits({ slow: [] });
  assert.equal((await d.operator(within()))?.name, 'Telekom.de');
});

test('unsolicited lines in the middle of every reply', async (t) => {
  for (const profile of ['huawei', 'quectel'] as const) {
    const emu = await startEmulator(t, { profile, habits: { urcMidReply: true } });
    const d = await openDriver(t, emu);
    const st = await readModemStatus(d, within());
    assert.equal(st.model, emu.profile.model, profile);
    assert.equal(st.registration.state, 'home', profile);
    assert.equal(st.registration.eps?.area, '1A2B', `${profile}: the reply, not the URC form`);
    assert.equal(st.operator?.name, emu.profile.operator.name);
    assert.equal(st.signal.rsrpDbm, -90);
  }
});

test('errors: ERROR and +CME ERROR reject that call only', async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei', habits: { errors: [{ match: /^AT\^NDISDUP=1,1/, reply: '+CME ERROR: 30', times: 1 }, { match: /^AT\+CGMM$/, reply: 'ERROR' }] } });
  const d = await openDriver(t, emu);
  await assert.rejects(d.connect({ apn: 'internet' }, within()), (e: unknown) => e instanceof AtError && e.kind === 'cme' && e.code === 30);
  await d.connect({ apn: 'internet' }, within());
  await until(() => emu.state.bearerUp, 2000, 'bearer up on the second try');
  const id = await d.identity(within());
  assert.equal(id.model, undefined);
  assert.equal(id.manufacturer, 'huawei');
});

test('garbage on the line before replies', async (t) => {
  const emu = await startEmulator(t, { profile: 'quectel', habits: { garbage: true } });
  const d = await openDriver(t, emu);
  const st = await readModemStatus(d, within());
  assert.equal(st.model, 'EC25');
  assert.equal(st.signal.rsrpDbm, -90);
  assert.ok(d.noise.garbage > 5);
});

test('a modem that never answers: open fails with a clear error, in bounded time', async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei', habits: { silent: true } });
  const t0 = Date.now();
  await assert.rejects(
    openAtModem({ device: emu.devicePath, timeouts: { default: 200 }, lateReplyGraceMs: 100, signal: within() }),
    (e: unknown) => e instanceof DeviceError && /no reply to AT/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 2000);
  await assert.rejects(openAtModem({ device: '/nonexistent/ttyUSB9' }), (e: unknown) => e instanceof DeviceError && /no such device/.test(e.message));
});

test('PIN: the configured PIN only when asked; a wrong one is tried once, never again, even by a new driver', async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei', sim: { pin: '2468' } });
  const guard = memoryPinGuard();
  const d = await openDriver(t, emu, { pinGuard: guard });
  assert.deepEqual(await d.simStatus(within()), { state: 'pin', pinRetries: 3, pukRetries: 10 });
  assert.equal((await d.registration(within())).registered, false);
  assert.equal(await d.unlock(undefined, within()), 'no-pin-configured');
  assert.equal(await d.unlock('12ab', within()), 'invalid-pin');
  assert.equal(await d.unlock('1111', within()), 'wrong-pin');
  assert.equal(emu.state.pinRetries, 2);
  assert.equal(await d.unlock('2468', within()), 'refused-after-failure');
  await d.close(); // the port is locked to one user at a time
  const d2 = await openDriver(t, emu, { pinGuard: guard });
  assert.equal(await d2.unlock('2468', within()), 'refused-after-failure');
  assert.equal(emu.commands.filter((c) => c.startsWith('AT+CPIN=')).length, 1);
  assert.equal(emu.state.pinRetries, 2);

  // A fresh guard (e.g. the operator fixed the PIN file and restarted): the right PIN unlocks.
  await d2.close();
  const d3 = await openDriver(t, emu, { pinGuard: memoryPinGuard() });
  const reg = nextEvent(d3, 'modem.registration', 2000, (e) => e.registration.domain === 'eps' && e.registration.state === 'home');
  assert.equal(await d3.unlock('2468', within()), 'unlocked');
  await reg;
  assert.equal(emu.state.pinRetries, 3);
  assert.equal(await d3.unlock('2468', within()), 'ready');
});

test('PIN: not tried when fewer attempts are left than the policy allows; PUK is never guessed', async (t) => {
  for (const profile of ['huawei', 'quectel'] as const) {
    const emu = await startEmulator(t, { profile, sim: { pin: '2468', pinRetries: 1 } });
    const d = await openDriver(t, emu);
    assert.equal(await d.unlock('2468', within()), 'refused-low-retries', profile);
    assert.equal(emu.commands.some((c) => c.startsWith('AT+CPIN=')), false);
  }
  const emu = await startEmulator(t, { profile: 'quectel', sim: { pin: '2468', pinRetries: 0 } });
  const d = await openDriver(t, emu);
  assert.equal((await d.simStatus(within())).state, 'puk');
  assert.equal(await d.unlock('2468', within()), 'puk-required');
  const absent = await startEmulator(t, { profile: 'huawei', sim: { present: false } });
  const d2 = await openDriver(t, absent);
  assert.equal((await d2.simStatus(within())).state, 'absent');
  assert.equal(await d2.unlock('2468', within()), 'absent');
});

test('unplug: pending and later calls fail at once, the driver says gone; replug: a new driver works', async (t) => {
  for (const profile of ['huawei', 'quectel'] as const) {
    const emu = await startEmulator(t, { profile, sim: { pin: '2468' }, habits: { slow: [{ match: /^AT\+COPS\?$/, delayMs: 2000 }] } });
    const d = await openDriver(t, emu);
    assert.equal(await d.unlock('2468', within()), 'unlocked');
    const gone = nextEvent(d, 'modem.gone');
    const pending = assert.rejects(d.operator(within()), (e: unknown) => e instanceof AtError && e.kind === 'closed');
    await sleep(50);
    const t0 = Date.now();
    await emu.unplug();
    await gone;
    await pending;
    await assert.rejects(d.signal(within()), (e: unknown) => e instanceof AtError && e.kind === 'closed');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(devicePresent(emu.devicePath), false);
    await assert.rejects(openAtModem({ device: emu.devicePath }), DeviceError);

    emu.setHabits({ slow: [] });
    await emu.replug();
    assert.equal(devicePresent(emu.devicePath), true);
    const d2 = await openDriver(t, emu);
    assert.equal((await d2.simStatus(within())).state, 'pin', `${profile}: the SIM locks again after power loss`);
    assert.equal(await d2.unlock('2468', within()), 'unlocked');
    await until(() => emu.state.registered, 1000, 'registered');
    await d2.connect({ apn: 'internet' }, within());
    await until(() => emu.state.bearerUp, 2000, 'bearer up after replug');
  }
});
