// The AT driver against the emulator on a real pty: bring-up on three vendors, bearer, mode, signal following, recovery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextEvent, openDriver, sleep, startEmulator, until, within } from '../../lab/modem/testing.js';
import type { VendorProfile } from '../../lab/modem/modem.profiles.js';
import { executeRecoveryStep } from '../../agent/drivers/modem/modem.recovery.js';
import { devicePresent } from '../../agent/drivers/modem/at.port.js';
import { readModemStatus } from '../../agent/drivers/modem/modem.status.js';

/** A vendor none of the dialects knows: 3GPP commands only, echo on, errors as plain ERROR. */
const sierraLike: VendorProfile = {
  name: 'sierra-like', family: '3gpp', manufacturer: 'Sierra Wireless, Incorporated', model: 'MC7455', firmware: 'SWI9X30C_02.33.03.00',
  echo: true, bearer: 'cgact', ussdPacked: false, bootUrcs: () => [], unknownReply: 'ERROR', prefixedIdentity: false,
  operator: { name: 'o2 - de', numeric: '26203' }, imei: '359072060123456', imsi: '262031112223334', iccid: '89490300001112223334',
};

for (const [profile, dialect] of [['huawei', 'huawei'], ['quectel', 'quectel'], [sierraLike, 'generic']] as const) {
  const name = typeof profile === 'string' ? profile : profile.name;
  test(`${name}: identity, SIM, registration, operator, signal, bearer up and down`, async (t) => {
    const emu = await startEmulator(t, { profile, address: { ipv4: '100.64.7.9', prefixLength: 29, gateway: '100.64.7.14', dns: ['9.9.9.9', '149.112.112.112'] } });
    const d = await openDriver(t, emu);
    assert.equal(d.dialectName, dialect);
    assert.equal(emu.state.echo, false, 'init turned echo off');
    const st = await readModemStatus(d, within());
    assert.equal(st.model, emu.profile.model);
    assert.equal(st.manufacturer, emu.profile.manufacturer);
    assert.equal(st.imei, `***********${emu.profile.imei.slice(-4)}`);
    assert.equal(st.sim.state, 'ready');
    assert.deepEqual([st.registration.registered, st.registration.state, st.registration.rat], [true, 'home', 'lte']);
    assert.equal(st.operator?.name, emu.profile.operator.name);
    assert.equal(st.signal.rat, 'lte');
    assert.equal(st.signal.rsrpDbm, -90);
    assert.equal(st.bearer.connected, false);

    const up = nextEvent(d, 'modem.bearer', 2000, (e) => e.connected);
    await d.connect({ apn: 'internet.lab' }, within());
    await up;
    const b = await d.bearerStatus(within());
    assert.equal(b.connected, true);
    assert.equal(b.address?.ipv4, '100.64.7.9');
    assert.equal(b.address?.prefixLength, 29);
    assert.equal(b.address?.gateway, '100.64.7.14');
    assert.deepEqual(b.address?.dns, ['9.9.9.9', '149.112.112.112']);
    assert.equal(emu.model.pdp.get(1)?.apn, 'internet.lab');
    await d.disconnect(within());
    assert.equal((await d.bearerStatus(within())).connected, false);
    assert.equal(emu.state.bearerUp, false);
  });
}

test('mode preference and PS-only where the modem offers it; false where it does not', async (t) => {
  for (const profile of ['huawei', 'quectel'] as const) {
    const emu = await startEmulator(t, { profile });
    const d = await openDriver(t, emu);
    assert.equal(await d.setMode({ preference: 'lte', psOnly: true }, within()), true);
    assert.deepEqual(emu.state.mode, { preference: 'lte', psOnly: true });
    assert.equal((await d.registration(within())).cs?.state, 'not-registered', 'PS only: no CS registration');
    assert.equal((await d.registration(within())).registered, true);
  }
  const emu = await startEmulator(t, { profile: sierraLike });
  const d = await openDriver(t, emu);
  assert.equal(await d.setMode({ preference: 'lte' }, within()), false);
});

test('signal and registration follow the scenario; the bearer drops with service and the driver hears it', async (t) => {
  for (const profile of ['huawei', 'quectel'] as const) {
    const emu = await startEmulator(t, { profile });
    const d = await openDriver(t, emu);
    await d.connect({ apn: 'internet' }, within());
    await until(() => emu.state.bearerUp, 2000, 'bearer up');
    const sig = nextEvent(d, 'modem.signal');
    emu.setSignal({ rsrp: -104, rsrq: -14, sinr: 2 });
    const ev = await sig;
    if (profile === 'huawei') assert.equal(ev.signal.rsrpDbm, -104);
    else assert.equal(ev.signal.rssiDbm !== undefined, true);
    const s = await d.signal(within());
    assert.deepEqual([s.rsrpDbm, s.rsrqDb, s.sinrDb], [-104, -14, 2]);

    const down = nextEvent(d, 'modem.bearer', 2000, (e) => !e.connected);
    const lost = nextEvent(d, 'modem.registration', 2000, (e) => e.registration.domain === 'eps' && e.registration.state === 'searching');
    emu.setSignal(-131);
    await Promise.all([down, lost]);
    assert.deepEqual([(await d.registration(within())).registered, (await d.signal(within())).rat], [false, 'none']);
    const back = nextEvent(d, 'modem.registration', 2000, (e) => e.registration.domain === 'eps' && e.registration.state === 'home');
    emu.setSignal(-95);
    await back;
    assert.equal((await d.bearerStatus(within())).connected, false, 'the bearer waits for a re-dial');
  }
});

test('recovery: re-dial and radio cycle on the modem, then a reset makes the device vanish and come back', async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei', habits: { resetMs: 200 } });
  const d = await openDriver(t, emu);
  const ctx = { bearer: { apn: 'internet' }, signal: within() };
  await executeRecoveryStep(d, { action: 'step', step: 'redial', attempt: 1, reason: 'test' }, ctx);
  await until(() => emu.state.bearerUp, 2000, 'bearer up after re-dial');
  await executeRecoveryStep(d, { action: 'step', step: 'radio-cycle', attempt: 1, reason: 'test' }, ctx);
  const cmds = emu.commands.slice(-3);
  assert.deepEqual(cmds, ['AT^NDISDUP=1,0', 'AT+CFUN=4', 'AT+CFUN=1']);
  assert.equal(emu.state.cfun, 1);
  assert.equal(emu.state.bearerUp, false);
  const gone = nextEvent(d, 'modem.gone');
  await executeRecoveryStep(d, { action: 'step', step: 'reset', attempt: 1, reason: 'test' }, ctx);
  await gone;
  assert.equal(d.gone, true);
  await until(() => !devicePresent(emu.devicePath), 1000, 'device gone');
  await until(() => devicePresent(emu.devicePath) && emu.plugged, 2000, 'device back');
  await sleep(60);
  const d2 = await openDriver(t, emu);
  assert.equal((await d2.simStatus(within())).state, 'ready');
});
