// The modem machine against the emulated modem on a real pty: bring-up to a data bearer, a USB unplug and replug,
// the network dropping the bearer, and a SIM whose PIN is wrong (tried once, never again).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import { openAtModem } from '../../agent/drivers/modem/modem.at.js';
import { memoryPinGuard, type ModemDriver } from '../../agent/drivers/modem/modem.driver.js';
import { createModemMachine, mergeSignal, type ModemStatus } from '../../agent/machines/modem.machine.js';
import { createLogger } from '../../shared/log.js';
import { startEmulator, until } from '../../lab/modem/testing.js';
import type { ModemEmulator } from '../../lab/modem/modem.emulator.js';

const quiet = createLogger({ name: 'test', level: 'silent' });

function startMachine(t: TestContext, emu: ModemEmulator, pin?: string) {
  const statuses: ModemStatus[] = [];
  const pinGuard = memoryPinGuard();
  const drivers: ModemDriver[] = [];
  let pinReads = 0;
  const machine = createModemMachine({
    open: async (signal) => {
      const d = await openAtModem({ device: emu.devicePath, log: quiet, pinGuard, timeouts: { default: 1000, network: 1500, bearer: 1500, sms: 2000, radio: 1500 }, lateReplyGraceMs: 300, signal });
      drivers.push(d);
      return d;
    },
    pin: async () => {
      pinReads++;
      return pin;
    },
    bearer: { apn: 'internet' },
    log: quiet,
    now: () => Date.now(),
    onStatus: (s) => statuses.push(s),
  });
  const actor = createActor(machine, { input: { reopenMs: 200, registerPollMs: 100, bearerPollMs: 100, signalPollMs: 100, servicesMs: 60_000 } });
  actor.start();
  t.after(() => actor.stop());
  const last = () => statuses[statuses.length - 1];
  return { statuses, last, pinReads: () => pinReads, stop: async () => {
    // As the agent's process ends: the machine stops, the serial port closes (the bearer is the modem's: it stays).
    actor.stop();
    for (const d of drivers) await d.close().catch(() => {});
  } };
}

test('bring-up to online, the signal read, then an unplug: absent, and back online after the replug', { timeout: 20_000 }, async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei', signal: { rsrp: -97 } });
  const m = startMachine(t, emu);
  await until(() => m.last()?.phase === 'online' && m.last()?.signalDbm !== null, 8000, 'online with a signal');
  assert.equal(m.last()!.bearer, true);
  assert.equal(m.last()!.signalDbm, -97);
  emu.setSignal(-110);
  await until(() => m.last()?.signalDbm === -110, 3000, 'the new signal');
  // Huawei follows each ^HCSQ with an ^RSSI: the reading stays RSRP (it used to flip to the RSSI, tens of dB apart).
  const seen = m.statuses.length;
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual([...new Set(m.statuses.slice(seen - 1).map((s) => s.signalDbm))], [-110]);

  await emu.unplug();
  await until(() => m.last()?.phase === 'absent', 3000, 'absent after the unplug');
  assert.equal(m.last()!.bearer, false);
  await emu.replug();
  await until(() => m.last()?.phase === 'online', 10_000, 'online again after the replug');
});

test('the network drops the bearer: recovering (re-dial), then online again', { timeout: 20_000 }, async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei' });
  const m = startMachine(t, emu);
  await until(() => m.last()?.phase === 'online', 8000, 'online');
  emu.setBearer(false);
  await until(() => m.statuses.some((s) => s.phase === 'recovering'), 3000, 'recovering');
  await until(() => m.last()?.phase === 'online', 10_000, 'online after the re-dial');
});

test('a bearer already up at start (the agent restarted): adopted, online without a dial; one down is dialed', { timeout: 20_000 }, async (t) => {
  const emu = await startEmulator(t, { profile: 'quectel' });
  const first = startMachine(t, emu);
  await until(() => first.last()?.phase === 'online', 8000, 'online');
  const dials = () => emu.commands.filter((c) => /^AT\+CGACT=1|^AT\^NDISDUP=\d+,1/i.test(c)).length;
  assert.equal(dials(), 1, 'the first start dials');
  await first.stop();
  // A new process on the same modem (the bearer stays up): online, and no second dial.
  const second = startMachine(t, emu);
  await until(() => second.last()?.phase === 'online', 8000, 'online again');
  assert.equal(dials(), 1, `no dial for a bearer already up: ${emu.commands.join(' | ')}`);
  assert.ok(!second.statuses.some((s) => s.phase === 'recovering'));
});

test('a wrong PIN is sent once and never again; the machine stays locked, the SIM keeps its retries', { timeout: 20_000 }, async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei', sim: { pin: '1234', pinRetries: 3 } });
  const m = startMachine(t, emu, '9999');
  await until(() => m.last()?.phase === 'locked', 8000, 'locked');
  assert.equal(m.last()!.simProblem, 'wrong-pin');
  const retries = emu.state.pinRetries;
  assert.equal(retries, 2, 'one attempt spent');
  // Time passes; nothing else is tried.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(emu.state.pinRetries, 2);
  assert.equal(m.last()!.phase, 'locked');
});

test('a PIN-locked SIM with the right PIN: unlocked and online', { timeout: 20_000 }, async (t) => {
  const emu = await startEmulator(t, { profile: 'quectel', sim: { pin: '1234', pinRetries: 3 } });
  const m = startMachine(t, emu, '1234');
  await until(() => m.last()?.phase === 'online', 10_000, 'online');
  assert.equal(m.pinReads(), 1);
});

test('a bare RSSI report refreshes the RSSI of a full reading; a full reading replaces what was there', () => {
  const hcsq = { rat: 'lte' as const, rssiDbm: -70, rsrpDbm: -97, rsrqDb: -10, sinrDb: 12 };
  const rssi = { rat: 'unknown' as const, rssiDbm: -67, csq: 23 };
  assert.deepEqual(mergeSignal(hcsq, rssi), { ...hcsq, rssiDbm: -67, csq: 23 });
  assert.deepEqual(mergeSignal(null, rssi), rssi);
  assert.deepEqual(mergeSignal(rssi, hcsq), hcsq);
  assert.deepEqual(mergeSignal({ rat: 'none' }, rssi), rssi);
});
