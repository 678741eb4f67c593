// The LTE uplink on a simulated clock: its probe budget starts from the usage stored before a restart and hands every
// change out (onBudget); re-addressing it is a modem redial when a modem dials its bearer, DHCP when none does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, setup, SimulatedClock, type AnyActorRef } from 'xstate';
import { createUplinkMachine, type UplinkDeps, type UplinkInput, type UplinkReport } from '../../agent/machines/uplink.machine.js';
import type { DhcpEvent, Lease } from '../../agent/drivers/dhcp/udhcpc.js';
import { dayStart, DEFAULT_BUDGET, type BudgetUsage } from '../../agent/policy/budget.js';

const flush = () => new Promise<void>((r) => setImmediate(r));
const NOON = Date.UTC(2026, 10, 21, 12, 0, 0);
const LEASE: Lease = { address: '100.64.0.20', prefix: 24, router: '100.64.0.1', leaseSeconds: 3600 };
/** One 200-byte probe per 100 s over a day: at noon, a fresh day's pace is one probe every ~50 s. */
const BUDGET = { ...DEFAULT_BUDGET, bytes_per_day: 200 * 864, min_interval_ms: 2000 };

/** One LTE uplink machine under a parent that keeps its reports; fake DHCP, routing and probes (5 ms RTT). */
class LteRig {
  readonly clock = new SimulatedClock();
  readonly reports: UplinkReport[] = [];
  readonly dhcpRuns: number[] = [];
  readonly budgetTold: BudgetUsage[] = [];
  readonly redials: Array<{ uplink: string; why: string }> = [];
  dhcp: ((ev: DhcpEvent) => void) | null = null;
  probes = 0;
  readonly actor;

  constructor(input: Partial<UplinkInput>, deps: Partial<UplinkDeps> = {}) {
    const clock = this.clock;
    const machine = createUplinkMachine({
      dhcp: {
        run: (_ifname, onEvent, signal) =>
          new Promise<void>((resolve) => {
            this.dhcpRuns.push(clock.now());
            this.dhcp = onEvent;
            signal.addEventListener('abort', () => resolve());
          }),
      },
      routing: { init: async () => {}, apply: async () => {}, clear: async () => {}, setTunnelDefault: async () => {}, down: async () => {} },
      probe: (_ifname, _address, signal) =>
        new Promise((resolve, reject) => {
          this.probes++;
          const id = clock.setTimeout(() => resolve(5), 5);
          signal.addEventListener('abort', () => {
            clock.clearTimeout(id);
            reject(new Error('aborted'));
          });
        }),
      now: () => clock.now(),
      wallNow: () => NOON + clock.now(),
      radio: () => null,
      onBudget: (_uplink, usage) => void this.budgetTold.push(usage),
      redial: (uplink, why) => void this.redials.push({ uplink, why }),
      ...deps,
    });
    const full: UplinkInput = {
      name: 'wwan0', slot: 3, kind: 'lte', probeIntervalMs: 1000, probeTimeoutMs: 500, maxMisses: 3, connectList: [], scanIntervalMs: 3000,
      budget: BUDGET, ...input,
    };
    const parent = setup({ actors: { uplink: machine } }).createMachine({
      invoke: { id: 'u', src: 'uplink', input: full },
      on: { 'uplink.status': { actions: ({ event }) => void this.reports.push((event as unknown as { status: UplinkReport }).status) } },
    });
    this.actor = createActor(parent, { clock });
    this.actor.start();
  }

  send(ev: unknown): void {
    (this.actor.getSnapshot().children.u as AnyActorRef).send(ev);
  }

  get last(): UplinkReport {
    return this.reports.at(-1)!;
  }

  async advance(ms: number): Promise<void> {
    for (let i = 0; i < ms; i++) {
      this.clock.increment(1);
      await flush();
    }
  }

  /** Carrier, a lease, the first probe: ready (on standby). */
  async up(): Promise<void> {
    this.send({ type: 'link.carrier', up: true });
    await this.advance(1);
    this.dhcp!({ type: 'dhcp.bound', lease: LEASE });
    await this.advance(10);
    assert.equal(this.last.ready, true);
  }

  stop(): void {
    this.actor.stop();
  }
}

test('LTE budget: a fresh start probes at the fresh day\'s pace, and tells the agent of each probe it paid for', async (t) => {
  const r = new LteRig({});
  t.after(() => r.stop());
  await r.up();
  await r.advance(60_000);
  assert.equal(r.probes, 2, 'one probe at once, the next ~50 s later');
  assert.deepEqual(r.budgetTold.map((u) => u.bytes), [200, 400]);
  assert.equal(r.budgetTold[1]!.day_start, dayStart(NOON));
  const second = r.budgetTold[1]!.last_probe_at! - NOON;
  assert.ok(second >= 45_000 && second <= 55_000, `the second probe ${second} ms after the first`);
});

test('LTE budget: started from the usage stored before a restart, it keeps to what is left of the day', async (t) => {
  // The day's budget all but spent before the restart: 10 probes' worth left for the 12 hours to midnight.
  const stored: BudgetUsage = { day_start: dayStart(NOON), bytes: BUDGET.bytes_per_day - 10 * 200, last_probe_at: NOON - 1000 };
  const r = new LteRig({ budgetUsage: stored });
  t.after(() => r.stop());
  await r.up();
  await r.advance(10 * 60_000);
  // Fresh, it would have probed every ~50 s (13 times in 10 min); with the stored spend, every 12 h / 10 = 72 min.
  assert.equal(r.probes, 1, `probes in 10 min: ${r.probes}`);
  assert.deepEqual(r.budgetTold.map((u) => u.bytes), [stored.bytes + 200], 'the spend carries on from the stored usage');
});

test('LTE standby asked to probe at once (the active went quiet) 540 ms after its paced probe: probed at once; a second ask within min_interval_ms is not', async (t) => {
  // Given: LTE on standby, probed at its pace (one probe per ~50 s here) at start-up. The arbiter asks 540 ms later,
  // as when HQ lost power 337 ms after LTE's paced probe (2026-12-03, lab): without this probe, LTE (the only witness)
  // gave no evidence and the far end's silence was taken for the active's (a blackhole switch, not an HQ failover).
  const r = new LteRig({});
  t.after(() => r.stop());
  await r.up();
  assert.equal(r.probes, 1);
  await r.advance(540);
  r.send({ type: 'uplink.probe-now' });
  await r.advance(2);
  assert.equal(r.probes, 2, 'want: the asked probe sent at once');
  assert.notEqual(r.last.probe.in_flight_since, undefined, 'want: reported out, so the arbiter waits for its outcome');
  await r.advance(1000);
  r.send({ type: 'uplink.probe-now' });
  await r.advance(2);
  assert.equal(r.probes, 2, 'want: a second ask within min_interval_ms (2 s) of the first not sent');
  await r.advance(1000);
  r.send({ type: 'uplink.probe-now' });
  await r.advance(2);
  assert.equal(r.probes, 3, 'want: an ask min_interval_ms after the last sent');
  assert.deepEqual(r.budgetTold.map((u) => u.bytes), [200, 400, 600], 'want: each paid from the day\'s bytes');
});

test('LTE budget: the active LTE\'s probes are traffic, not budget: nothing told', async (t) => {
  const r = new LteRig({});
  t.after(() => r.stop());
  await r.up();
  const told = r.budgetTold.length;
  r.send({ type: 'uplink.role', role: 'active', probeIntervalMs: 200 });
  await r.advance(2000);
  assert.ok(r.probes >= 10, `active: probed at its pace (${r.probes})`);
  assert.equal(r.budgetTold.length, told);
});

test('LTE budget: redundant copies it carried are spent from the day\'s bytes, told and reported (budgetLeft); past it, nothing left', async (t) => {
  const r = new LteRig({});
  t.after(() => r.stop());
  await r.up();
  const before = r.last.budgetLeft!;
  assert.equal(before, BUDGET.bytes_per_day - 200, 'one probe paid for');
  r.send({ type: 'uplink.spent', bytes: 100_000 });
  await r.advance(1);
  assert.equal(r.last.budgetLeft, before - 100_000);
  assert.equal(r.budgetTold.at(-1)!.bytes, 200 + 100_000, 'told, to be written to disk like the probes\' spend');
  r.send({ type: 'uplink.spent', bytes: 10_000_000 });
  await r.advance(1);
  assert.equal(r.last.budgetLeft, 0, 'past the budget: nothing left (redundancy.ts then uses LTE for no copies)');
  // And the standby probes keep to what is left: none until the next day.
  const n = r.probes;
  await r.advance(120_000);
  assert.equal(r.probes, n, 'no standby probe past the budget');
});

test('readdress of an LTE uplink whose bearer a modem dials: the modem is asked to redial; no new DHCP client, the lease kept', async (t) => {
  const r = new LteRig({ redial: true });
  t.after(() => r.stop());
  await r.up();
  r.send({ type: 'uplink.readdress', why: 'watchdog' });
  await r.advance(5);
  assert.deepEqual(r.redials, [{ uplink: 'wwan0', why: 'watchdog' }]);
  assert.equal(r.dhcpRuns.length, 1, 'no DHCP restart');
  assert.deepEqual([r.last.lease?.address, r.last.ready], [LEASE.address, true]);
  // The redial takes the bearer down and up (NCM: the carrier with it): a fresh address comes by DHCP after it.
  r.send({ type: 'link.carrier', up: false });
  await r.advance(1);
  assert.deepEqual([r.last.phase, r.last.lease], ['down', LEASE], 'down; the lease goes when a new one comes');
  r.send({ type: 'link.carrier', up: true });
  await r.advance(1);
  assert.equal(r.dhcpRuns.length, 2, 'a DHCP client on the new bearer');
});

test('readdress of an LTE uplink without a modem (or no redial wired): DHCP re-addressing, as for Wi-Fi', async () => {
  for (const [name, input, deps] of [
    ['no modem section', {}, {}],
    ['redial asked for but not wired', { redial: true }, { redial: undefined }],
  ] as const) {
    const r = new LteRig(input, deps);
    await r.up();
    r.send({ type: 'uplink.readdress', why: 'watchdog' });
    await r.advance(1);
    assert.deepEqual(r.redials, [], name);
    assert.equal(r.dhcpRuns.length, 2, `${name}: a new DHCP client`);
    assert.deepEqual([r.last.phase, r.last.lease, r.last.ready], ['addressing', null, false], name);
    r.stop();
  }
});
