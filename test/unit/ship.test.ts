// Shipping the journal with a fake clock against HQ's real agents' API (inject) that fails, loses acknowledgements,
// restarts and recovers: every switch stored exactly once, in order. Also the HTTP client on a real socket, the
// heartbeat sender, the backoff table and the agent's metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, type NewSwitchEvent } from '../../agent/journal/journal.js';
import { backoffDelay } from '../../agent/ship/backoff.js';
import { createAgentApiClient, eventsOutcome } from '../../agent/ship/client.js';
import { HeartbeatSender, heartbeatFrom } from '../../agent/ship/heartbeat.js';
import { AgentMetrics } from '../../agent/ship/metrics.js';
import { Shipper, type SendOutcome } from '../../agent/ship/shipper.js';
import { SimClock, settle } from '../../shared/clock.js';
import { buildAgentApi } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { GroupCommit } from '../../concentrator/agent-api/ingest.js';
import { openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import type { SwitchEvent } from '../../shared/wire/switch-event.js';
import { uuid } from './events.fixtures.test.js';

const e = (n: number, over: Partial<NewSwitchEvent> = {}): NewSwitchEvent => ({
  id: uuid(n), vehicle: 'bus-7', at: new Date(Date.UTC(2026, 10, 21, 10, 0, 0, n)).toISOString(), from: n === 1 ? null : 'wlan0', to: n % 2 ? 'wlan1' : 'wlan0', reason: 'signal', ...over,
});

/** HQ: the real agents' API and store, behind a switch that makes it down, or lose its answers after storing. */
function fakeHq() {
  const store = new EventStore(openEventsDb(':memory:'));
  const gc = new GroupCommit(store);
  const app = buildAgentApi({ identify: async (a) => (a === '10.99.0.2' ? { name: 'bus-7' } : null), ingest: (b) => gc.submit(b), fleet: new FleetState({ offlineAfterMs: 15_000 }) });
  const hq = {
    store, app, mode: 'up' as 'up' | 'down' | 'lose-ack', posts: 0,
    async send(events: SwitchEvent[]): Promise<SendOutcome> {
      hq.posts++;
      if (hq.mode === 'down') return { kind: 'retry', error: 'connect ECONNREFUSED 10.99.0.1:8080' };
      const r = await app.inject({ method: 'POST', url: '/v1/events', remoteAddress: '10.99.0.2', payload: { events } });
      if (hq.mode === 'lose-ack') return { kind: 'retry', error: 'socket hang up' }; // stored, but the agent never hears it
      return eventsOutcome({ status: r.statusCode, body: r.json() });
    },
    seqs: async () => (await store.query({ vehicle: 'bus-7' })).map((x) => x.seq),
  };
  return hq;
}

test('backoff: grows by the factor to the cap; jitter only shortens', async () => {
  const p = { initialMs: 250, maxMs: 2000, factor: 2, jitter: 0.2 };
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, p, 0)), [250, 500, 1000, 2000, 2000, 2000]);
  assert.equal(backoffDelay(0, p, 1), 200);
  assert.equal(backoffDelay(3, p, 0.5), 1800);
});

test('HQ down for a while, then back: nothing lost, nothing doubled, in order; retries back off', async () => {
  const hq = fakeHq();
  const timer = new SimClock();
  const j = Journal.open(':memory:');
  const shipper = new Shipper({ journal: j, send: (ev) => hq.send(ev), timer, random: () => 0 });
  hq.mode = 'down';
  for (let n = 1; n <= 5; n++) {
    j.append(e(n));
    shipper.kick();
    await settle();
  }
  assert.equal(shipper.state, 'waiting');
  assert.equal((await hq.seqs()).length, 0);
  await timer.advance(60_000); // an hour would look the same: retries every 2 s at most
  assert.deepEqual(timer.delays(), [2000]);
  assert.equal(j.backlog(), 5);
  hq.mode = 'up';
  await timer.advance(2000);
  assert.deepEqual((await hq.seqs()), [1, 2, 3, 4, 5]);
  assert.equal(j.backlog(), 0);
  assert.equal(shipper.state, 'idle');
  assert.equal(shipper.failures, 0);
  await shipper.stop();
});

test('acknowledgements lost after HQ stored the batch: resent, stored once', async () => {
  const hq = fakeHq();
  const timer = new SimClock();
  const j = Journal.open(':memory:');
  const shipper = new Shipper({ journal: j, send: (ev) => hq.send(ev), timer, random: () => 0 });
  hq.mode = 'lose-ack';
  j.append(e(1));
  j.append(e(2));
  shipper.kick();
  await settle();
  assert.deepEqual((await hq.seqs()), [1, 2]);
  assert.equal(j.backlog(), 2);
  j.append(e(3));
  shipper.kick(); // a new switch brings the retry forward
  await settle();
  hq.mode = 'up';
  await timer.advance(5000);
  assert.deepEqual((await hq.seqs()), [1, 2, 3]);
  assert.equal((await hq.store.count()), 3);
  assert.equal(j.backlog(), 0);
  await shipper.stop();
});

test('agent restart mid-outage and a concentrator restart: the reopened journal ships the rest, each once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-ship-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'journal.sqlite');
  const hq = fakeHq();
  const timer = new SimClock();
  let j = Journal.open(path);
  let shipper = new Shipper({ journal: j, send: (ev) => hq.send(ev), timer, random: () => 0 });
  j.append(e(1));
  shipper.kick();
  await settle();
  hq.mode = 'lose-ack';
  j.append(e(2));
  shipper.kick();
  await settle();
  hq.mode = 'down';
  j.append(e(3));
  shipper.kick();
  await settle();
  // The agent dies (no clean stop of the journal) and starts again with a new shipper.
  await shipper.stop();
  j.close();
  j = Journal.open(path);
  assert.deepEqual(j.unshipped(10).map((x) => x.seq), [2, 3]);
  shipper = new Shipper({ journal: j, send: (ev) => hq.send(ev), timer, random: () => 0 });
  j.append(e(4));
  shipper.kick();
  await settle();
  await timer.advance(10_000);
  hq.mode = 'up'; // the concentrator is back (its store is on disk: the same store)
  await timer.advance(2000);
  assert.deepEqual((await hq.seqs()), [1, 2, 3, 4]);
  assert.equal(j.backlog(), 0);
  await shipper.stop();
  j.close();
});

test('HQ refuses one event: it is set aside, the others are shipped; too large halves the batch', async () => {
  const timer = new SimClock();
  const j = Journal.open(':memory:');
  const shippedIds: string[] = [];
  const sizes: number[] = [];
  const send = async (events: SwitchEvent[]): Promise<SendOutcome> => {
    sizes.push(events.length);
    if (events.length > 2) return { kind: 'too-large' };
    const bad = events.findIndex((x) => x.seq === 3);
    if (bad >= 0) return { kind: 'refused', index: bad, message: `events[${bad}].to: bad` };
    shippedIds.push(...events.map((x) => x.id));
    return { kind: 'ok', stored: events.map((x) => x.id) };
  };
  const shipper = new Shipper({ journal: j, send, timer, batchSize: 8 });
  for (let n = 1; n <= 6; n++) j.append(e(n));
  shipper.kick();
  await settle();
  assert.deepEqual(shippedIds, [uuid(1), uuid(2), uuid(4), uuid(5), uuid(6)]);
  assert.equal(j.rejected().length, 1);
  assert.equal(j.rejected()[0]!.event.seq, 3);
  assert.equal(sizes[0], 6);
  assert.equal(j.backlog(), 0);
});

test('a 400 without an index: one at a time until the bad event is found', async () => {
  const timer = new SimClock();
  const j = Journal.open(':memory:');
  const send = async (events: SwitchEvent[]): Promise<SendOutcome> =>
    events.some((x) => x.seq === 2) ? { kind: 'refused', index: null, message: 'nope' } : { kind: 'ok', stored: events.map((x) => x.id) };
  const shipper = new Shipper({ journal: j, send, timer });
  for (let n = 1; n <= 3; n++) j.append(e(n));
  shipper.kick();
  await settle();
  assert.deepEqual(j.all().map((x) => [x.seq, x.shipped]), [[1, true], [2, false], [3, true]]);
  assert.equal(j.rejected()[0]!.event.seq, 2);
});

test('the HTTP client over a real socket: events, heartbeat, sites 304; outcomes classified', async (t) => {
  const hq = fakeHq();
  // A plain HTTP server on loopback relays to the app with the vehicle's address (loopback stands for the tunnel).
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r = await hq.app.inject({ method: req.method as 'GET', url: req.url!, remoteAddress: '10.99.0.2', payload: chunks.length ? Buffer.concat(chunks) : undefined, headers: { 'content-type': 'application/json' } });
    res.writeHead(r.statusCode, { 'content-type': 'application/json' });
    res.end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = createAgentApiClient({ baseUrl: `http://127.0.0.1:${port}`, localAddress: '127.0.0.1', timeoutMs: 2000 });
  t.after(() => {
    client.close();
    server.close();
  });
  const j = Journal.open(':memory:');
  j.append(e(1));
  const ac = new AbortController();
  const out = await client.postEvents(j.unshipped(10), ac.signal);
  assert.deepEqual(out, { kind: 'ok', stored: [uuid(1)] });
  const bad = await client.postEvents([{ ...j.unshipped(1)[0]!, to: 'not an ifname' }], ac.signal);
  assert.deepEqual(bad, { kind: 'refused', index: 0, message: 'events[0].to: must be an interface name (1-15 of a-z A-Z 0-9 _=+.-)' });
  const hb = await client.postHeartbeat({ vehicle: 'bus-7', at: new Date().toISOString(), active: null, uplinks: [] }, ac.signal);
  assert.deepEqual(hb, { sites_version: 0, mono: true, health: true });
  assert.deepEqual(await client.getSites(null, ac.signal), { version: 0, sites: [] });
  assert.equal(await client.getSites(0, ac.signal), 'unchanged');
  const down = createAgentApiClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 500 });
  const r = await down.postEvents(j.unshipped(10), ac.signal);
  assert.equal(r.kind, 'retry');
  down.close();
  assert.equal(eventsOutcome({ status: 503, body: null }).kind, 'retry');
  assert.equal(eventsOutcome({ status: 403, body: { error: { code: 'NOT_A_VEHICLE', message: 'x' } } }).kind, 'retry');
  assert.equal(eventsOutcome({ status: 413, body: null }).kind, 'too-large');
});

test('heartbeat: built from the uplinks, sent every interval, replies handed on, failures do not stop it', async () => {
  const timer = new SimClock();
  const sent: unknown[] = [];
  let fail = false;
  const replies: number[] = [];
  const hs = new HeartbeatSender({
    timer, intervalMs: 5000,
    collect: () => heartbeatFrom({
      vehicle: 'bus-7', now: Date.UTC(2026, 10, 21, 10) + timer.now(), active: 'wlan0', site: 'depot', backlog: 2, sitesVersion: 4,
      uplinks: [
        { name: 'wlan0', kind: 'wifi', phase: 'ready', ready: true, rttMs: 12, ap: { ssid: 'depot', bssid: '02:00:00:00:00:01', signal: -60 } },
        { name: 'wwan0', kind: 'lte', phase: 'ready', ready: true, rttMs: 40, ap: null },
      ],
      signal: (n) => (n === 'wwan0' ? -95 : null), counters: (n) => (n === 'wlan0' ? { rx_bytes: 10, tx_bytes: 20 } : null),
    }),
    send: async (hb) => {
      if (fail) throw new Error('down');
      sent.push(hb);
      return { sites_version: 5 };
    },
    onReply: (r) => replies.push(r.sites_version),
  });
  hs.start();
  await settle();
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0], {
    vehicle: 'bus-7', at: '2026-11-21T10:00:00.000Z', active: 'wlan0', site: 'depot', journal_backlog: 2, sites_version: 4, modem: null,
    uplinks: [
      { name: 'wlan0', kind: 'wifi', state: 'ready', ready: true, signal: -60, rtt_ms: 12, loss: null, ap: { ssid: 'depot', bssid: '02:00:00:00:00:01' }, rx_bytes: 10, tx_bytes: 20 },
      { name: 'wwan0', kind: 'lte', state: 'ready', ready: true, signal: -95, rtt_ms: 40, loss: null, ap: null, rx_bytes: null, tx_bytes: null },
    ],
  });
  fail = true;
  await timer.advance(10_000);
  fail = false;
  await timer.advance(5000);
  assert.equal(sent.length, 2);
  assert.deepEqual(replies, [5, 5]);
  await hs.stop();
  await timer.advance(20_000);
  assert.equal(sent.length, 2);
});

test('agent metrics: switches by reason, seconds per uplink, outage histogram, backlog', async () => {
  let now = 0;
  const m = new AgentMetrics({ now: () => now, backlog: () => 3 });
  m.onSwitch({ to: 'wlan0', reason: 'initial', ms_to_first_packet: 4 });
  now = 10_000;
  m.onSwitch({ to: 'wlan1', reason: 'signal', ms_to_first_packet: 30 });
  now = 12_500;
  m.onShipped(2);
  const text = m.render();
  assert.match(text, /roamlink_agent_switches_total\{reason="signal"\} 1\n/);
  assert.match(text, /roamlink_agent_uplink_seconds_total\{uplink="wlan0"\} 10\n/);
  assert.match(text, /roamlink_agent_uplink_seconds_total\{uplink="wlan1"\} 2.5\n/);
  assert.match(text, /roamlink_agent_switch_outage_seconds_bucket\{le="0.005"\} 1\n/);
  assert.match(text, /roamlink_agent_switch_outage_seconds_count 2\n/);
  assert.match(text, /roamlink_agent_journal_backlog_events 3\n/);
  assert.match(text, /roamlink_agent_events_shipped_total 2\n/);
});
