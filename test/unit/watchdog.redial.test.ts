// The watchdog's cure on LTE is a redial of the modem's bearer, not DHCP: the arbiter and uplinks on a simulated clock
// (where the re-addressing goes, and when), and the modem machine against the emulated modem on a pty (the redial
// itself: the bearer released and dialled again, online again).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock } from 'xstate';
import { createArbiterMachine, type ArbiterInput } from '../../agent/machines/arbiter.machine.js';
import { createUplinkMachine, type UplinkInput } from '../../agent/machines/uplink.machine.js';
import { createWatchdogMachine, type WatchdogConfig } from '../../agent/machines/watchdog.machine.js';
import { createModemMachine, type ModemStatus } from '../../agent/machines/modem.machine.js';
import { openAtModem } from '../../agent/drivers/modem/modem.at.js';
import { memoryPinGuard } from '../../agent/drivers/modem/modem.driver.js';
import type { DhcpEvent, Lease } from '../../agent/drivers/dhcp/udhcpc.js';
import { createLogger } from '../../shared/log.js';
import { startEmulator, until } from '../../lab/modem/testing.js';
import type { ModemEmulator } from '../../lab/modem/modem.emulator.js';

// ---- where the watchdog's re-addressing goes: arbiter, uplinks and watchdog on a simulated clock -------------------

const flush = () => new Promise<void>((r) => setImmediate(r));
const LEASES: Record<string, Lease> = {
  wlan0: { address: '192.168.50.23', prefix: 24, router: '192.168.50.1', leaseSeconds: 3600 },
  wwan0: { address: '100.64.7.10', prefix: 30, router: '100.64.7.9', leaseSeconds: 3600 },
};
const RTT: Record<string, number> = { wlan0: 10, wwan0: 40 };
const TUNNEL_RTT = 3;
const DRAIN_MS = 200;
const WATCHDOG: WatchdogConfig = { hosts: ['10.0.0.10'], dns: null, intervalMs: 5000, timeoutMs: 1000, failures: 3, tunnelIf: 'wg0' };
const ARBITER: Omit<ArbiterInput, 'uplinks'> = { settleMs: 1500, drainMs: DRAIN_MS, confirmTimeoutMs: 1000, confirmRetryMs: 50, watchdog: WATCHDOG };

function wait(clock: SimulatedClock, ms: number, signal: AbortSignal, value: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const id = clock.setTimeout(() => resolve(value), ms);
    signal.addEventListener('abort', () => {
      clock.clearTimeout(id);
      reject(new Error('aborted'));
    });
  });
}

/** The agent's machines with fake drivers; `redials` is what the agent would hand to the modem (agent.ts). */
class Vehicle {
  readonly clock = new SimulatedClock();
  readonly dhcpStarts: string[] = [];
  readonly dhcp = new Map<string, (ev: DhcpEvent) => void>();
  readonly redials: Array<{ uplink: string; why: string; at: number }> = [];
  readonly acted: Array<{ uplink: string; action: string }> = [];
  readonly steers: string[] = [];
  hostsAnswer = true;
  private pushLink: ((ifname: string, up: boolean) => void) | null = null;
  readonly actor;

  constructor(uplinks: UplinkInput[], initial: string) {
    const clock = this.clock;
    const uplink = createUplinkMachine({
      dhcp: {
        run: (ifname, onEvent, signal) =>
          new Promise<void>((resolve) => {
            this.dhcpStarts.push(ifname);
            this.dhcp.set(ifname, onEvent);
            signal.addEventListener('abort', () => resolve());
          }),
      },
      routing: { init: async () => {}, apply: async () => {}, clear: async () => {}, setTunnelDefault: async () => {}, down: async () => {} },
      probe: (ifname, _address, signal) => wait(clock, RTT[ifname]!, signal, RTT[ifname]!),
      now: () => clock.now(),
      radio: () => null,
      redial: (u, why) => void this.redials.push({ uplink: u, why, at: clock.now() }),
    });
    const machine = createArbiterMachine(
      {
        steer: async (to) => void this.steers.push(to.name),
        afterSwitch: async () => {},
        tunnelProbe: (signal) => wait(clock, TUNNEL_RTT, signal, TUNNEL_RTT),
        watchLinks: (onChange, signal) =>
          new Promise<void>((resolve) => {
            this.pushLink = onChange;
            signal.addEventListener('abort', () => resolve());
          }),
        readCounters: () => ({ rx: 0, tx: 0 }),
        now: () => clock.now(),
        wallNow: () => clock.now(),
        newId: () => 'sw',
      },
      uplink,
      uplinks,
      createWatchdogMachine({
        pingHost: () => Promise.resolve(this.hostsAnswer ? 2 : null),
        resolve: () => Promise.resolve(['10.0.0.10']),
      }),
    );
    this.actor = createActor(machine, { clock, input: { uplinks: uplinks.map((u) => u.name), initial, ...ARBITER } });
    this.actor.on('watchdog.acted', (e) => void this.acted.push({ uplink: e.uplink, action: e.action }));
    this.actor.start();
  }

  async advance(ms: number): Promise<void> {
    for (let i = 0; i < ms; i++) {
      this.clock.increment(1);
      await flush();
    }
  }

  async bringUp(name: string, dBm: number): Promise<void> {
    this.actor.send({ type: 'uplink.signal', uplink: name, dBm });
    this.pushLink!(name, true);
    await flush();
    this.dhcp.get(name)!({ type: 'dhcp.bound', lease: LEASES[name]! });
    await this.advance(RTT[name]! + 1);
    assert.equal(this.ctx.status[name]?.ready, true, `${name} ready`);
  }

  get ctx() {
    return this.actor.getSnapshot().context;
  }

  stop(): void {
    this.actor.stop();
  }
}

const input = (name: string, slot: number, kind: 'wifi' | 'lte', more: Partial<UplinkInput> = {}): UplinkInput => ({
  name, slot, kind, probeIntervalMs: 100, probeTimeoutMs: 50, maxMisses: 3, connectList: [], scanIntervalMs: 3000, ...more,
});

async function onLte(t: TestContext, lte: Partial<UplinkInput>, withWifi: boolean): Promise<Vehicle> {
  const v = new Vehicle([...(withWifi ? [input('wlan0', 1, 'wifi')] : []), input('wwan0', 3, 'lte', lte)], 'wwan0');
  t.after(() => v.stop());
  await v.advance(1);
  await v.bringUp('wwan0', -95);
  // A Wi-Fi too weak to be good enough (below switch_below): LTE keeps the tunnel (policy lte: fallback).
  if (withWifi) await v.bringUp('wlan0', -82);
  await v.advance(ARBITER.settleMs + TUNNEL_RTT + DRAIN_MS + 10);
  assert.equal(v.ctx.active, 'wwan0');
  v.steers.length = 0;
  return v;
}

test('watchdog on an LTE uplink with a modem, nowhere else to go: the modem redials; no DHCP re-addressing', async (t) => {
  const v = await onLte(t, { redial: true }, false);
  const dhcp = v.dhcpStarts.length;
  v.hostsAnswer = false;
  await v.advance(3 * WATCHDOG.intervalMs + 50);
  assert.deepEqual(v.acted, [{ uplink: 'wwan0', action: 'readdress' }]);
  assert.deepEqual(v.redials.map((r) => [r.uplink, r.why]), [['wwan0', 'watchdog']]);
  assert.equal(v.dhcpStarts.length, dhcp, 'no new DHCP client');
  assert.equal(v.ctx.status.wwan0?.lease?.address, LEASES.wwan0!.address);
  assert.deepEqual(v.steers, []);
});

test('watchdog on an LTE uplink with a modem, a Wi-Fi to go to: moved first, redialled after the drain', async (t) => {
  const v = await onLte(t, { redial: true }, true);
  v.hostsAnswer = false;
  for (let ms = 0; v.acted.length === 0; ms++) {
    assert.ok(ms <= 3 * WATCHDOG.intervalMs + 100, 'the watchdog acts after 3 failed rounds');
    await v.advance(1);
  }
  await v.advance(1);
  assert.deepEqual(v.acted, [{ uplink: 'wwan0', action: 'switch' }]);
  assert.deepEqual(v.steers, ['wlan0']);
  assert.equal(v.redials.length, 0, 'not while packets in flight may still come over it');
  const steeredAt = v.clock.now();
  await v.advance(TUNNEL_RTT + DRAIN_MS + 10);
  assert.equal(v.ctx.active, 'wlan0');
  assert.deepEqual(v.redials.map((r) => [r.uplink, r.why]), [['wwan0', 'watchdog']]);
  assert.ok(v.redials[0]!.at >= steeredAt + DRAIN_MS, 'after the drain');
  assert.deepEqual(v.dhcpStarts.filter((n) => n === 'wwan0'), ['wwan0'], 'no DHCP restart on wwan0');
});

test('watchdog on an LTE uplink without a modem section: DHCP re-addressing, as before', async (t) => {
  const v = await onLte(t, {}, false);
  const client = v.dhcp.get('wwan0');
  v.hostsAnswer = false;
  await v.advance(3 * WATCHDOG.intervalMs + 50);
  assert.deepEqual(v.acted, [{ uplink: 'wwan0', action: 'readdress' }]);
  assert.deepEqual(v.redials, []);
  assert.notEqual(v.dhcp.get('wwan0'), client, 'a new DHCP client');
});

// ---- the redial itself: the modem machine against the emulated modem -------------------------------------------

interface LogLine { level: number; event?: string; why?: string; msg: string }

function startModem(t: TestContext, emu: ModemEmulator) {
  const statuses: ModemStatus[] = [];
  const lines: LogLine[] = [];
  const log = createLogger({ name: 'test', level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } });
  const machine = createModemMachine({
    open: (signal) => openAtModem({ device: emu.devicePath, log, pinGuard: memoryPinGuard(), timeouts: { default: 1000, network: 1500, bearer: 1500, sms: 2000, radio: 1500 }, lateReplyGraceMs: 300, signal }),
    pin: async () => '9999',
    bearer: { apn: 'internet', user: 'web', password: 'bearer-secret-pw' },
    log,
    now: () => Date.now(),
    onStatus: (s) => statuses.push(s),
  });
  const actor = createActor(machine, { input: { reopenMs: 200, registerPollMs: 100, bearerPollMs: 100, signalPollMs: 100, servicesMs: 60_000 } });
  actor.start();
  t.after(() => actor.stop());
  const bearer: boolean[] = [];
  const off = emu.onChange((c) => {
    if (c.type === 'bearer') bearer.push((c as { up: boolean }).up);
  });
  t.after(() => off());
  return { actor, statuses, lines, bearer, last: () => statuses.at(-1) };
}

for (const profile of ['huawei', 'quectel'] as const) {
  test(`redial (${profile}): the emulator sees the bearer released and dialled again, and the machine is online again`, { timeout: 20_000 }, async (t) => {
    const emu = await startEmulator(t, { profile });
    const m = startModem(t, emu);
    await until(() => m.last()?.phase === 'online', 8000, 'online');
    const mark = { commands: emu.commands.length, statuses: m.statuses.length };
    m.bearer.length = 0;
    m.actor.send({ type: 'modem.redial', why: 'watchdog' });
    await until(() => m.statuses.slice(mark.statuses).some((s) => s.phase === 'redialing') && m.last()?.phase === 'online', 8000, 'online after the redial');
    const phases = m.statuses.slice(mark.statuses).map((s) => s.phase).filter((p, i, a) => p !== a[i - 1]);
    assert.deepEqual(phases, ['redialing', 'connecting', 'online'], 'through the bearer states, not the recovery ladder');
    assert.deepEqual(m.bearer, [false, true], 'the emulator\'s bearer went down, then up');
    const sent = emu.commands.slice(mark.commands);
    const release = sent.findIndex((c) => (profile === 'huawei' ? /^AT\^NDISDUP=1,0$/i : /^AT\+CGACT=0,1$/i).test(c));
    const dial = sent.findIndex((c) => (profile === 'huawei' ? /^AT\^NDISDUP=1,1,/i : /^AT\+CGACT=1,1$/i).test(c));
    assert.ok(release >= 0 && dial > release, `a release, then a dial: ${JSON.stringify(sent)}`);
    assert.equal(emu.state.bearerUp, true);
    assert.equal(m.last()!.bearer, true);
    const said = m.lines.filter((l) => l.event === 'modem.redial');
    assert.equal(said.length, 1);
    assert.equal(said[0]!.why, 'watchdog');
    assert.match(said[0]!.msg, /redialing the data bearer \(watchdog\)/);
    for (const l of m.lines) assert.ok(!JSON.stringify(l).includes('bearer-secret-pw'), `the bearer's password in a log line: ${JSON.stringify(l)}`);
  });
}

test('redial while the modem is not online (a SIM locked by a wrong PIN): ignored, logged, nothing sent', { timeout: 20_000 }, async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei', sim: { pin: '1234', pinRetries: 3 } });
  const m = startModem(t, emu);
  await until(() => m.last()?.phase === 'locked', 8000, 'locked');
  const mark = emu.commands.length;
  m.actor.send({ type: 'modem.redial', why: 'watchdog' });
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(emu.commands.slice(mark).filter((c) => /NDISDUP|CGACT/i.test(c)), []);
  assert.equal(m.last()!.phase, 'locked');
  assert.match(m.lines.find((l) => l.event === 'modem.redial')?.msg ?? '', /while not online: ignored/);
});
