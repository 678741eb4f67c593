// What one vehicle can make HQ keep: /metrics labels bounded (known reasons, declared uplinks, capped), event ids
// unique per vehicle (one vehicle's id never shadows another's), a far-future `at` clamped to the receive time's skew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { buildAgentApi } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { createVehicleLookup } from '../../concentrator/agent-api/identity.js';
import { HqMetrics } from '../../concentrator/metrics/hq.metrics.js';
import { BoundedLabels, KNOWN_REASONS, MAX_UPLINK_LABELS, OTHER, reasonLabel } from '../../concentrator/metrics/labels.js';
import { openDb } from '../../concentrator/store/db.js';
import { migrateEvents, migrateSteps, openEventsDb } from '../../concentrator/store/events/db.js';
import { EVENTS_MIGRATIONS, toRow } from '../../concentrator/store/events/schema.js';
import { MAX_FUTURE_SKEW_MS, eventTime } from '../../concentrator/store/events/time.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import { VehicleService } from '../../concentrator/store/vehicles/service.js';
import { T0, ev, uuid } from './events.fixtures.test.js';

const K = (n: number) => Buffer.alloc(32, n).toString('base64');

test('label bounds: known reasons kept, others "other"; uplink names first come up to the cap', async () => {
  const cases: Array<{ given: string; want: string }> = [
    { given: 'signal', want: 'signal' },
    { given: 'watchdog', want: 'watchdog' },
    { given: 'carrier', want: OTHER },
    { given: 'x-1', want: OTHER },
    { given: 'Signal', want: OTHER },
  ];
  for (const c of cases) assert.equal(reasonLabel(c.given), c.want, c.given);
  for (const r of KNOWN_REASONS) assert.equal(reasonLabel(r), r);
  const b = new BoundedLabels(2);
  assert.deepEqual(['a', 'b', 'c', 'a', OTHER, 'd'].map((v) => b.label(v)), ['a', 'b', OTHER, 'a', OTHER, OTHER]);
  assert.equal(b.size, 2);
});

test('one vehicle sending thousands of uplink names and reasons leaves /metrics bounded', async (t) => {
  let now = T0;
  const db = openDb(':memory:');
  const vehicles = new VehicleService(db, { tunnelNetwork: '10.99.0.0/24' });
  (await vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1) }));
  const events = new EventStore(openEventsDb(':memory:'), { now: () => now });
  const fleet = new FleetState({ offlineAfterMs: 15_000, now: () => now });
  const metrics = new HqMetrics({ fleet, registered: () => 1 });
  const app = buildAgentApi({
    identify: createVehicleLookup(db),
    ingest: async (b) => (await events.ingest(b)),
    fleet,
    metrics,
  });
  t.after(async () => {
    await app.close();
    db.close();
  });
  const from = '10.99.0.2';
  const uplink = (name: string) => ({ name, kind: 'wifi', state: 'ready', ready: true });
  for (let i = 0; i < 300; i++) {
    now += 1000;
    // 16 fresh names a heartbeat, the active one declared; every third heartbeat an active name it does not declare.
    const names = Array.from({ length: 16 }, (_, k) => `u${i}x${k}`);
    const active = i % 3 === 0 ? `ghost${i}` : names[0]!;
    const r = await app.inject({ method: 'POST', url: '/v1/heartbeat', remoteAddress: from, payload: { vehicle: 'bus-7', at: new Date(now).toISOString(), active, uplinks: names.map(uplink) } });
    assert.equal(r.statusCode, 200);
  }
  for (let b = 0; b < 20; b++) {
    // Reasons outside shared/reasons.ts are refused at the wire; uplink names in events never become labels.
    const made = Array.from({ length: 50 }, (_, k) => ({ ...ev(b * 50 + k + 1, { from: `f${b}x${k}`, to: `t${b}x${k}` }), reason: `made-up-${b}-${k}` }));
    const bad = await app.inject({ method: 'POST', url: '/v1/events', remoteAddress: from, payload: { events: made } });
    assert.equal(bad.statusCode, 400);
    const batch = made.map((e, k) => ({ ...e, reason: KNOWN_REASONS[k % KNOWN_REASONS.length]! }));
    const r = await app.inject({ method: 'POST', url: '/v1/events', remoteAddress: from, payload: { events: batch } });
    assert.equal(r.statusCode, 200);
  }
  const text = metrics.render();
  const values = (metric: string, label: string) => new Set([...text.matchAll(new RegExp(`^${metric}\\{${label}="([^"]*)"`, 'gm'))].map((m) => m[1]));
  const uplinks = values('roamlink_uplink_seconds_total', 'uplink');
  const reasons = values('roamlink_switches_total', 'reason');
  assert.equal(uplinks.size, MAX_UPLINK_LABELS + 1, `uplink labels: ${uplinks.size}`);
  assert.ok(uplinks.has(OTHER));
  assert.ok(![...uplinks].some((u) => u!.startsWith('ghost')), 'an undeclared active uplink became a label');
  assert.deepEqual([...reasons].sort(), [...KNOWN_REASONS].sort());
  assert.ok(text.length < 20_000, `/metrics is ${text.length} bytes`);
});

test('event ids are unique per vehicle: the same id from two vehicles is two events; a retry is a duplicate', async () => {
  const store = new EventStore(openEventsDb(':memory:'));
  const a = ev(1, { vehicle: 'bus-7' });
  const b = ev(1, { vehicle: 'van-2', to: 'wwan0' });
  assert.deepEqual((await store.ingest([a])).inserted.length, 1);
  const r = (await store.ingest([b, a]));
  assert.deepEqual([r.inserted.map((e) => e.vehicle), r.duplicates], [['van-2'], 1]);
  assert.equal((await store.query({ vehicle: 'van-2' }))[0]!.to, 'wwan0');
  assert.equal((await store.query({ vehicle: 'bus-7' }))[0]!.id, uuid(1));
  assert.equal((await store.count()), 2);
});

test('nothing known of its clock (an older agent): a far-future at is stored at the receive time, marked estimated; past and near times unchanged', async () => {
  const recv = T0;
  const iso = (ms: number) => new Date(ms).toISOString();
  const cases: Array<{ name: string; at: string; want: string; quality: string }> = [
    { name: 'past', at: iso(recv - 86_400_000), want: iso(recv - 86_400_000), quality: 'unchecked' },
    { name: 'just ahead', at: iso(recv + MAX_FUTURE_SKEW_MS), want: iso(recv + MAX_FUTURE_SKEW_MS), quality: 'unchecked' },
    { name: 'year 2999', at: '2999-01-01T00:00:00.000Z', want: iso(recv), quality: 'estimated' },
    { name: 'an hour ahead', at: iso(recv + 3_600_000), want: iso(recv), quality: 'estimated' },
  ];
  for (const c of cases) {
    const t = eventTime(ev(1, { at: c.at }), null, recv);
    assert.deepEqual([iso(t.at), t.quality, iso(t.vehicleAt)], [c.want, c.quality, c.at], c.name);
  }
  const store = new EventStore(openEventsDb(':memory:'), { now: () => recv });
  const r = (await store.ingest([ev(7, { at: '2999-01-01T00:00:00.000Z' })]));
  assert.equal(r.inserted[0]!.at, iso(recv));
  const [stored] = (await store.query());
  assert.deepEqual([stored!.at, stored!.vehicle_at, stored!.time_quality], [iso(recv), '2999-01-01T00:00:00.000Z', 'estimated']);
  assert.equal((await store.prune(recv + 1)), 1, 'retention reaches it');
});

test('schema versions 2 to 5 keep every version-1 row and its rowid (the cursor, log_id from version 5)', async () => {
  const db = new Database(':memory:');
  migrateSteps(db, EVENTS_MIGRATIONS.slice(0, 1), 'switch log');
  const ins = db.prepare(`INSERT INTO switch_events (rowid, id, vehicle, seq, at, from_uplink, to_uplink, reason, site, ms_to_first_packet, gap_ms, detail, received_at)
    VALUES (@rowid, @id, @vehicle, @seq, @at, @from_uplink, @to_uplink, @reason, @site, @ms_to_first_packet, @gap_ms, @detail, @received_at)`);
  ins.run({ rowid: 5, ...toRow(ev(1), T0) });
  ins.run({ rowid: 9, ...toRow(ev(2), T0) });
  assert.equal(migrateEvents(db), 5, 'migrated on to the latest (v5: the cursor column log_id, rowid renamed)');
  const store = new EventStore(db);
  assert.deepEqual((await store.query()).map((e) => [e.rowid, e.id]), [[5, uuid(1)], [9, uuid(2)]]);
  assert.equal((await store.ingest([ev(1), ev(1, { vehicle: 'van-2' })])).inserted.length, 1);
});
