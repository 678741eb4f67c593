// Time (issue 11, item 4): HQ's time for each event as a table, then vehicles whose clocks step (booted 3 years in the
// past, then NTP; stepped back, then an agent restart) on simulated clocks, through the real journal, shipper and
// HTTP client, HQ's agents' API, the store and `roamlink log`: seq order kept, times corrected or marked, none pruned early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFleetLink, type FleetLink } from '../../agent/ship/fleet-link.js';
import type { SwitchRecord } from '../../agent/machines/arbiter.machine.js';
import type { UplinkStatus } from '../../agent/machines/uplink.machine.js';
import { buildAgentApi } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { GroupCommit } from '../../concentrator/agent-api/ingest.js';
import { eventsPath, openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import { CLOCK_BOUND_MS, eventTime, type VehicleClock } from '../../concentrator/store/events/time.js';
import { SimClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/log.js';
import { uuid } from './events.fixtures.test.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HQ_PRIV = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';
const HQ_T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const YEARS_3 = 3 * 365 * 86_400_000;
const HOURS_2 = 2 * 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

test('eventTime: the vehicle\'s at kept, corrected by its monotonic clock, or estimated and marked (table)', () => {
  const recv = HQ_T0;
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';
  const sent = (offsetMs: number, timeline: string, ms: number): VehicleClock => ({ offsetMs, mono: { timeline, ms, receivedAt: recv } });
  const cases: Array<{ name: string; at: number; mono?: { timeline: string; ms: number }; clock: VehicleClock | null; want: [number, string, number | null] }> = [
    { name: 'same run, clock right: kept', at: recv - 10_000 + 40, mono: { timeline: A, ms: 90_000 }, clock: sent(0, A, 100_000), want: [recv - 10_000 + 40, 'ok', -40] },
    { name: 'same run, within the bound: kept', at: recv - 10_000 - CLOCK_BOUND_MS, mono: { timeline: A, ms: 90_000 }, clock: sent(0, A, 100_000), want: [recv - 10_000 - CLOCK_BOUND_MS, 'ok', CLOCK_BOUND_MS] },
    { name: 'same run, 3 years behind then: corrected', at: recv - 10_000 - YEARS_3, mono: { timeline: A, ms: 90_000 }, clock: sent(0, A, 100_000), want: [recv - 10_000, 'corrected', YEARS_3] },
    { name: 'same run, stepped back since: corrected', at: recv - 10_000 + HOURS_2, mono: { timeline: A, ms: 90_000 }, clock: sent(0, A, 100_000), want: [recv - 10_000, 'corrected', -HOURS_2] },
    { name: 'earlier run, clock 2 h behind now: estimated', at: recv - 60_000 - HOURS_2, mono: { timeline: B, ms: 5 }, clock: sent(HOURS_2, A, 100), want: [recv - 60_000, 'estimated', HOURS_2] },
    { name: 'earlier run, clock right now: unchecked', at: recv - 60_000, mono: { timeline: B, ms: 5 }, clock: sent(20, A, 100), want: [recv - 60_000, 'unchecked', null] },
    { name: 'earlier run, in the future: estimated, at receipt', at: recv + 60_000, mono: { timeline: B, ms: 5 }, clock: sent(0, A, 100), want: [recv, 'estimated', 0] },
    { name: 'mono after the batch left (impossible): not trusted', at: recv - 1000, mono: { timeline: A, ms: 200 }, clock: sent(0, A, 100), want: [recv - 1000, 'unchecked', null] },
    { name: 'older agent, heartbeat says 3 years behind: estimated', at: recv - 5000 - YEARS_3, clock: { offsetMs: YEARS_3 }, want: [recv - 5000, 'estimated', YEARS_3] },
    { name: 'older agent, nothing known: unchecked', at: recv - 5000 - YEARS_3, clock: null, want: [recv - 5000 - YEARS_3, 'unchecked', null] },
  ];
  for (const c of cases) {
    const t = eventTime({ at: iso(c.at), ...(c.mono ? { mono: c.mono } : {}) }, c.clock, recv);
    assert.deepEqual([t.at, t.quality, t.offsetMs], c.want, c.name);
    assert.equal(t.vehicleAt, c.at, c.name);
  }
});

const status = (name: string): UplinkStatus => ({
  name, slot: 1, kind: 'wifi', phase: 'ready', carrier: true, lease: null, ready: true, rttMs: 10, lastOkAt: 0, misses: 0, ap: null,
});

/** A switch as the arbiter records it, decided now on the agent's clock. */
const decided = (n: number, clock: SimClock, from: string | null, to: string): SwitchRecord => ({
  id: uuid(n), from, to, reason: n === 1 ? 'initial' : 'signal', decided_at: clock.wallNow(), decided_mono: clock.now(),
  steered_at: clock.wallNow(), confirmed_at: clock.wallNow(), ms_to_first_packet: 5, candidates: [],
});

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** HQ on its own simulated clock (its file switch log, its agents' API behind a socket that can go down), and a vehicle dir. */
function world(t: { after: (fn: () => void | Promise<void>) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'rl-time-'));
  const hq = new SimClock({ wall: HQ_T0 });
  const store = new EventStore(openEventsDb(eventsPath(join(dir, 'state'))), { now: () => hq.wallNow() });
  const gc = new GroupCommit(store);
  const fleet = new FleetState({ offlineAfterMs: 15_000, now: () => hq.wallNow() });
  const app = buildAgentApi({ identify: async (a) => (a === '127.0.0.1' ? { name: 'bus-7' } : null), ingest: (b) => gc.submit(b), fleet, clock: hq });
  const w = { dir, hq, store, fleet, up: true, apiUrl: '', links: [] as FleetLink[] };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!w.up) return res.socket?.destroy();
    const r = await app.inject({ method: req.method as 'GET', url: req.url!, remoteAddress: req.socket.remoteAddress, payload: chunks.length ? Buffer.concat(chunks) : undefined, headers: { 'content-type': 'application/json' } });
    res.writeHead(r.statusCode, { 'content-type': 'application/json' });
    res.end(r.body);
  });
  t.after(async () => {
    for (const l of w.links) await l.stop().catch(() => {});
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    w,
    async listen() {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      w.apiUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    },
    /** An agent process: its fleet link (journal in the vehicle's state dir) on its own clock. */
    async agent(clock: SimClock): Promise<FleetLink> {
      const link = await startFleetLink({
        vehicle: 'bus-7', stateDir: join(dir, 'vehicle'), apiUrl: w.apiUrl, localAddress: '127.0.0.1', snapshot: () => ({ active: 'wlan0', status: { wlan0: status('wlan0') } }),
        heartbeatMs: 60_000, sitesPollMs: 600_000, log: createLogger({ name: 'agent', level: 'silent' }), clock,
      });
      w.links.push(link);
      await until('HQ says it takes the agent\'s clocks', () => !w.up || link.hqTakesMono);
      return link;
    },
    /** Time passes for everyone. */
    pass(ms: number, ...agents: SimClock[]) {
      w.hq.advanceSync(ms);
      for (const a of agents) a.advanceSync(ms);
    },
    /** `roamlink log ARGS` against this HQ's switch log file. */
    log(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      writeFileSync(join(dir, 'hq.key'), `${HQ_PRIV}\n`, { mode: 0o600 });
      writeFileSync(join(dir, 'hq.yaml'), `interface: rl-test0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/24\nstate_dir: state\ncontrol_socket: hq.sock\n`);
      return new Promise((resolve) => {
        execFile('node', [join(ROOT, 'bin/roamlink'), 'log', ...args, '--config', join(dir, 'hq.yaml')], { cwd: ROOT }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        });
      });
    },
  };
}

test('booted 3 years in the past, NTP steps the clock forward mid-drive: HQ corrects every time, in seq order, and keeps them', async (t) => {
  const { w, listen, agent, pass, log } = world(t);
  await listen();
  const car = new SimClock({ wall: HQ_T0 - YEARS_3 });
  const link = await agent(car);
  await until('the first heartbeat', () => w.fleet.get('bus-7') !== null);
  assert.equal(w.fleet.get('bus-7')!.clockOffsetMs, YEARS_3, 'HQ learns the offset from the heartbeat');

  pass(10_000, car);
  link.recordSwitch(decided(1, car, null, 'wlan0'));
  await until('switch 1 at HQ', async () => (await w.store.count()) === 1);

  w.up = false; // out of reach: the next switch waits in the journal
  pass(10_000, car);
  link.recordSwitch(decided(2, car, 'wlan0', 'wlan1'));
  // Each pass fires the one retry pending (backoff ≤ 2 s): wait for its failure before time moves on.
  const failed = (n: number) => until(`failed send ${n}`, () => link.metrics.render().includes(`roamlink_agent_ship_failures_total ${n}\n`));
  await failed(1);
  pass(5_000, car);
  await failed(2);
  car.stepWall(YEARS_3); // NTP
  pass(5_000, car);
  await failed(3);
  w.up = true;
  link.recordSwitch(decided(3, car, 'wlan1', 'wlan0'));
  await until('switches 2 and 3 at HQ', async () => (await w.store.count()) === 3);

  const got = (await w.store.query({ vehicle: 'bus-7' })).map((e) => [e.seq, e.at, e.vehicle_at, e.time_quality, e.clock_offset_ms]);
  assert.deepEqual(got, [
    [1, iso(HQ_T0 + 10_000), iso(HQ_T0 - YEARS_3 + 10_000), 'corrected', YEARS_3],
    [2, iso(HQ_T0 + 20_000), iso(HQ_T0 - YEARS_3 + 20_000), 'corrected', YEARS_3], // decided before the step, sent after it
    [3, iso(HQ_T0 + 30_000), iso(HQ_T0 + 30_000), 'ok', 0],
  ]);
  // Retention counts from receipt: a month's retention keeps events the vehicle dated 3 years ago.
  assert.equal(await w.store.prune(w.hq.wallNow() - 30 * 86_400_000), 0);
  assert.equal(await w.store.count(), 3);

  const human = await log('--vehicle', 'bus-7');
  assert.equal(human.code, 0, human.stderr);
  assert.deepEqual(human.stdout.trim().split('\n').map((l) => l.slice(0, 26)), [
    `${iso(HQ_T0 + 10_000)}~ `, `${iso(HQ_T0 + 20_000)}~ `, `${iso(HQ_T0 + 30_000)}  `,
  ]);
  const json = await log('--vehicle', 'bus-7', '--json');
  assert.deepEqual(json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; time_quality: string }).map((e) => [e.seq, e.time_quality]), [[1, 'corrected'], [2, 'corrected'], [3, 'ok']]);
});

test('the clock steps back, then the agent restarts: seq order kept, the earlier run\'s switch estimated and marked, the new run\'s corrected', async (t) => {
  const { w, listen, agent, pass, log } = world(t);
  await listen();
  const run1 = new SimClock({ wall: HQ_T0 });
  let link = await agent(run1);
  pass(10_000, run1);
  link.recordSwitch(decided(1, run1, null, 'wlan0'));
  await until('switch 1 at HQ', async () => (await w.store.count()) === 1);

  w.up = false;
  pass(5_000, run1);
  run1.stepWall(-HOURS_2); // a bad time source steps it back
  pass(5_000, run1);
  link.recordSwitch(decided(2, run1, 'wlan0', 'wlan1'));
  await until('a failed send', () => link.metrics.render().includes('roamlink_agent_ship_failures_total 1\n'));
  await link.stop();

  // A new agent process: a new monotonic timeline, the wall clock still 2 h behind. Its start ships what was left.
  pass(5_000);
  const run2 = new SimClock({ wall: run1.wallNow() + 5_000 });
  w.up = true;
  link = await agent(run2);
  await until('switch 2 at HQ', async () => (await w.store.count()) === 2);
  pass(5_000, run2);
  link.recordSwitch(decided(3, run2, 'wlan1', 'wlan0'));
  await until('switch 3 at HQ', async () => (await w.store.count()) === 3);
  assert.equal(w.fleet.get('bus-7')!.clockOffsetMs, HOURS_2);

  const got = (await w.store.query({ vehicle: 'bus-7' })).map((e) => [e.seq, e.at, e.vehicle_at, e.time_quality, e.clock_offset_ms]);
  assert.deepEqual(got, [
    [1, iso(HQ_T0 + 10_000), iso(HQ_T0 + 10_000), 'ok', 0],
    // The vehicle's own times go backwards (its clock stepped back); seq and HQ's times do not.
    [2, iso(HQ_T0 + 20_000), iso(HQ_T0 + 20_000 - HOURS_2), 'estimated', HOURS_2],
    [3, iso(HQ_T0 + 30_000), iso(HQ_T0 + 30_000 - HOURS_2), 'corrected', HOURS_2],
  ]);
  assert.deepEqual((await w.store.last('bus-7'))?.seq, 3, 'the latest is the last journaled, not the latest the vehicle dated');
  assert.equal(await w.store.prune(w.hq.wallNow() - 86_400_000), 0);

  const human = await log('--vehicle', 'bus-7');
  assert.deepEqual(human.stdout.trim().split('\n').map((l) => l.slice(23, 26)), ['Z  ', 'Z? ', 'Z~ ']);
});
