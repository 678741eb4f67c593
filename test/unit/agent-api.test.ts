// The agents' API through inject() with faked source addresses: identity by tunnel address, a vehicle speaks only
// for itself, malformed input named and never stored half, idempotent ingest, heartbeats, site profiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAgentApi, normalizeAddress } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { createVehicleLookup } from '../../concentrator/agent-api/identity.js';
import { GroupCommit } from '../../concentrator/agent-api/ingest.js';
import { HqMetrics } from '../../concentrator/metrics/hq.metrics.js';
import { openDb } from '../../concentrator/store/db.js';
import { openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import { VehicleService } from '../../concentrator/store/vehicles/service.js';
import { ev, whyOf } from './events.fixtures.test.js';

const K = (n: number) => Buffer.alloc(32, n).toString('base64');
const BUS = '10.99.0.2';
const VAN = '10.99.0.3';
const OLD = '10.99.0.4';

async function setup(t: { after: (fn: () => unknown) => void }, bodyLimit?: number) {
  let now = Date.parse('2026-11-21T10:00:00Z');
  const db = openDb(':memory:');
  const vehicles = new VehicleService(db, { tunnelNetwork: '10.99.0.0/24' });
  (await vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) }));
  (await vehicles.add({ name: 'van-2', subnet: '10.20.8.0/24', publicKey: K(2) }));
  (await vehicles.add({ name: 'old', subnet: '10.20.9.0/24', publicKey: K(3) }));
  (await vehicles.revoke('old'));
  const events = new EventStore(openEventsDb(':memory:'));
  const fleet = new FleetState({ offlineAfterMs: 15_000, now: () => now });
  const metrics = new HqMetrics({ fleet, registered: () => 2 }); // bus-7 and van-2 (old is revoked)
  const gc = new GroupCommit(events);
  const app = buildAgentApi({
    identify: createVehicleLookup(db), ingest: (b) => gc.submit(b), fleet, metrics,
    sites: async () => ({ version: 3, sites: [] }), bodyLimit,
  });
  t.after(async () => {
    await app.close();
    db.close();
  });
  return { app, events, fleet, metrics, vehicles, advance: (ms: number) => (now += ms) };
}

const post = (url: string, from: string, payload: unknown) => ({ method: 'POST' as const, url, remoteAddress: from, payload: payload as object });

test('normalizeAddress: dual-stack IPv4 form', async () => {
  assert.equal(normalizeAddress('::ffff:10.99.0.2'), '10.99.0.2');
  assert.equal(normalizeAddress('10.99.0.2'), '10.99.0.2');
  assert.equal(normalizeAddress(undefined), '');
});

test('identity: only an active vehicle\'s tunnel address gets in (403 otherwise, body unread)', async (t) => {
  const { app, events } = await setup(t);
  for (const from of ['127.0.0.1', '10.99.0.1', OLD, '192.0.2.7']) {
    const r = await app.inject(post('/v1/events', from, { events: [ev(1)] }));
    assert.equal(r.statusCode, 403, from);
    assert.equal(r.json().error.code, 'NOT_A_VEHICLE');
  }
  const r = await app.inject({ method: 'GET', url: '/v1/sites', remoteAddress: OLD });
  assert.equal(r.statusCode, 403);
  assert.equal((await events.count()), 0);
});

test('a vehicle speaks only for itself: an event for another vehicle is refused, the batch not stored', async (t) => {
  const { app, events } = await setup(t);
  const r = await app.inject(post('/v1/events', VAN, { events: [ev(1, { vehicle: 'van-2' }), ev(2)] }));
  assert.equal(r.statusCode, 403);
  assert.deepEqual(r.json().error, { code: 'WRONG_VEHICLE', message: '"bus-7" is not the sending vehicle (van-2)', field: 'events[1].vehicle' });
  assert.equal((await events.count()), 0);
  const hb = await app.inject(post('/v1/heartbeat', VAN, { vehicle: 'bus-7', at: '2026-11-21T10:00:00Z', active: null, uplinks: [] }));
  assert.equal(hb.statusCode, 403);
  assert.equal(hb.json().error.field, 'vehicle');
});

test('events: stored once by id; a retry acknowledges every id again; metrics count each once', async (t) => {
  const { app, events, metrics } = await setup(t);
  let r = await app.inject(post('/v1/events', BUS, { events: [ev(1), ev(2)] }));
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), { stored: [ev(1).id, ev(2).id], inserted: 2, duplicates: 0 });
  r = await app.inject(post('/v1/events', BUS, { events: [ev(2), ev(3)] }));
  assert.deepEqual(r.json(), { stored: [ev(2).id, ev(3).id], inserted: 1, duplicates: 1 });
  assert.deepEqual((await events.query()).map((e) => e.seq), [1, 2, 3]);
  const text = metrics.render();
  assert.match(text, /roamlink_switches_total\{reason="signal"\} 2\n/);
  assert.match(text, /roamlink_switches_total\{reason="carrier-loss"\} 1\n/);
  assert.match(text, /roamlink_switch_events_duplicate_total 1\n/);
});

test('bad input: 4xx naming the field, nothing stored half', async (t) => {
  const { app, events } = await setup(t);
  const cases: Array<{ name: string; payload: unknown; raw?: string; status: number; code: string; field?: string }> = [
    { name: 'bad event in the middle', payload: { events: [ev(1), { ...ev(2), at: 'yesterday' }, ev(3)] }, status: 400, code: 'INVALID', field: 'events[1].at' },
    { name: 'candidate field', payload: { events: [{ ...ev(1), candidates: [{ name: 'wlan0', phase: 'ready', ready: 'yes' }] }] }, status: 400, code: 'INVALID', field: 'events[0].candidates[0].ready' },
    { name: 'no events', payload: { events: [] }, status: 400, code: 'INVALID', field: 'events' },
    { name: 'not an object', payload: [1, 2], status: 400, code: 'INVALID' },
    { name: 'not JSON', payload: undefined, raw: '{"events": [', status: 400, code: 'BAD_REQUEST' },
  ];
  for (const c of cases) {
    const r = await app.inject({
      method: 'POST', url: '/v1/events', remoteAddress: BUS,
      ...(c.raw !== undefined ? { payload: c.raw, headers: { 'content-type': 'application/json' } } : { payload: c.payload as object }),
    });
    assert.equal(r.statusCode, c.status, c.name);
    assert.equal(r.json().error.code, c.code, c.name);
    if (c.field) assert.equal(r.json().error.field, c.field, c.name);
  }
  assert.equal((await events.count()), 0);
});

test('too large a body: 413', async (t) => {
  const { app } = await setup(t, 64 * 1024);
  const big = { events: Array.from({ length: 200 }, (_, i) => ev(i + 1, { why: whyOf('x'.repeat(500)) })) };
  const r = await app.inject(post('/v1/events', BUS, big));
  assert.equal(r.statusCode, 413);
  assert.equal(r.json().error.code, 'TOO_LARGE');
});

test('heartbeats: online while heard from, offline after the timeout; the reply carries the sites version', async (t) => {
  const { app, fleet, metrics, advance } = await setup(t);
  const hb = {
    vehicle: 'bus-7', at: '2026-11-21T10:00:00Z', active: 'wlan0', site: 'depot', journal_backlog: 4,
    uplinks: [{ name: 'wlan0', kind: 'wifi', state: 'ready', ready: true, signal: -61, rtt_ms: 12, loss: 0, rx_bytes: 1, tx_bytes: 2 }],
  };
  const r = await app.inject(post('/v1/heartbeat', BUS, hb));
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), { sites_version: 3, mono: true, health: true });
  assert.equal(fleet.online('bus-7'), true);
  assert.match(metrics.render(), /roamlink_vehicles_online 1\n/);
  assert.match(metrics.render(), /roamlink_journal_backlog_events 4\n/);
  advance(5000);
  await app.inject(post('/v1/heartbeat', BUS, { ...hb, active: 'wwan0' }));
  assert.match(metrics.render(), /roamlink_uplink_seconds_total\{uplink="wlan0"\} 5\n/);
  advance(15_001);
  assert.equal(fleet.online('bus-7'), false);
  assert.match(metrics.render(), /roamlink_vehicles_online 0\n/);
  const bad = await app.inject(post('/v1/heartbeat', BUS, { ...hb, uplinks: [{ ...hb.uplinks[0], kind: 'satellite' }] }));
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.field, 'uplinks[0].kind');
});

test('sites: the set, or 304 when the agent has this version', async (t) => {
  const { app } = await setup(t);
  let r = await app.inject({ method: 'GET', url: '/v1/sites', remoteAddress: BUS });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), { version: 3, sites: [] });
  r = await app.inject({ method: 'GET', url: '/v1/sites?version=3', remoteAddress: BUS });
  assert.equal(r.statusCode, 304);
  assert.equal(r.body, '');
});

test('fleet history: a ring of the last N samples; nulls kept as null; at most 4 uplinks per vehicle', async () => {
  const { heartbeatSchema } = await import('../../shared/wire/heartbeat.js');
  let now = 1000;
  const fleet = new FleetState({ offlineAfterMs: 15_000, now: () => now, historySize: 3 });
  const names = ['wlan0', 'wlan1', 'wwan0', 'eth0', 'wlan2'];
  for (let i = 0; i < 5; i++) {
    now = 1000 + i * 5000;
    fleet.heartbeat(heartbeatSchema.parse({
      vehicle: 'bus-7', at: new Date(now).toISOString(), active: i % 2 ? 'wlan1' : null,
      uplinks: names.map((name, k) => ({ name, kind: 'wifi', state: 'ready', ready: true, signal: k === 0 ? -60 - i : null, rtt_ms: 12.3, loss: k === 2 ? 0.25 : null })),
    }));
  }
  const h = fleet.history('bus-7');
  assert.deepEqual(h.map((s) => [s.t, s.active]), [[11_000, null], [16_000, 'wlan1'], [21_000, null]]);
  assert.deepEqual(h[2]!.u, [['wlan0', -64, 12.3, null], ['wlan1', null, 12.3, null], ['wwan0', null, 12.3, 0.25], ['eth0', null, 12.3, null]]);
  assert.deepEqual(fleet.history('nobody'), []);
});
