// Prometheus text format by hand: counters, gauges, histograms, label escaping, and the concentrator's metric set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry, formatValue } from '../../shared/wire/prometheus.js';
import { FleetState, lteDelta } from '../../concentrator/agent-api/fleet.js';
import { heartbeatSchema } from '../../shared/wire/heartbeat.js';
import { HqMetrics } from '../../concentrator/metrics/hq.metrics.js';
import { ev } from './events.fixtures.test.js';

test('a registry renders HELP, TYPE and samples in the 0.0.4 text format', () => {
  const r = new Registry();
  const c = r.register(new Counter('x_total', 'Things.\nSecond line \\ here.', ['kind']));
  c.inc({ kind: 'a' });
  c.inc({ kind: 'a' }, 2);
  c.inc({ kind: 'quote"back\\slash\nnl' });
  r.register(new Gauge('g', 'A gauge.', [], () => 4.5));
  const h = r.register(new Histogram('h_seconds', 'Durations.', [0.1, 1]));
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  assert.equal(r.render(), [
    '# HELP x_total Things.\\nSecond line \\\\ here.',
    '# TYPE x_total counter',
    'x_total{kind="a"} 3',
    'x_total{kind="quote\\"back\\\\slash\\nnl"} 1',
    '# HELP g A gauge.',
    '# TYPE g gauge',
    'g 4.5',
    '# HELP h_seconds Durations.',
    '# TYPE h_seconds histogram',
    'h_seconds_bucket{le="0.1"} 1',
    'h_seconds_bucket{le="1"} 2',
    'h_seconds_bucket{le="+Inf"} 3',
    'h_seconds_sum 5.55',
    'h_seconds_count 3',
    '',
  ].join('\n'));
});

test('mistakes are refused: bad names, wrong labels, a counter going down, a name twice', () => {
  assert.throws(() => new Counter('bad-name', 'x'));
  assert.throws(() => new Counter('ok', 'x', ['le']));
  const c = new Counter('c_total', 'x', ['a']);
  assert.throws(() => c.inc({}));
  assert.throws(() => c.inc({ a: '1', b: '2' }));
  assert.throws(() => c.inc({ a: '1' }, -1));
  assert.throws(() => new Histogram('h', 'x', [1, 1]));
  const r = new Registry();
  r.register(new Gauge('g', 'x'));
  assert.throws(() => r.register(new Gauge('g', 'x')));
  assert.deepEqual([NaN, Infinity, -Infinity, 0.25].map(formatValue), ['NaN', '+Inf', '-Inf', '0.25']);
});

test('HqMetrics: switches by reason, duplicates, outage histogram from gap or time to first packet', () => {
  const fleet = new FleetState({ offlineAfterMs: 1000, now: () => 0 });
  const m = new HqMetrics({ fleet, registered: () => 7 });
  m.stored([ev(1, { reason: 'signal', ms_to_first_packet: 3 }), ev(2, { reason: 'carrier-loss', ms_to_first_packet: 400, gap_ms: 1200 }), ev(4, { reason: 'signal', ms_to_first_packet: null })], 2);
  const text = m.render();
  for (const line of [
    'roamlink_switches_total{reason="signal"} 2', 'roamlink_switches_total{reason="carrier-loss"} 1', 'roamlink_switch_events_duplicate_total 2',
    'roamlink_switch_outage_seconds_bucket{le="0.005"} 1', 'roamlink_switch_outage_seconds_bucket{le="1"} 1', 'roamlink_switch_outage_seconds_bucket{le="2.5"} 2',
    'roamlink_switch_outage_seconds_count 2', 'roamlink_vehicles_registered 7', 'roamlink_vehicles_online 0', 'roamlink_journal_backlog_events 0',
  ]) assert.ok(text.includes(`${line}\n`), line);
});

const beat = (vehicle: string, active: string | null, lte: { rx: number; tx: number } | null, signal = -70, backlog = 0) => heartbeatSchema.parse({
  vehicle, at: '2026-12-03T10:00:00Z', active, journal_backlog: backlog,
  uplinks: [
    { name: 'wlan0', kind: 'wifi', state: 'ready', ready: true, signal: -55, rx_bytes: 1e9, tx_bytes: 1e9 },
    { name: 'wwan0', kind: 'lte', state: 'ready', ready: true, signal, rx_bytes: lte?.rx ?? null, tx_bytes: lte?.tx ?? null },
  ],
});

test('lteDelta: growth of the LTE uplinks\' rx + tx between two heartbeats; a reset counts from zero; nothing before the first', () => {
  const table: Array<[string, Parameters<typeof lteDelta>[0], Parameters<typeof lteDelta>[1], number]> = [
    ['first heartbeat', null, beat('a', 'wwan0', { rx: 500, tx: 500 }), 0],
    ['growth', beat('a', 'wwan0', { rx: 100, tx: 10 }), beat('a', 'wwan0', { rx: 400, tx: 30 }), 320],
    ['counter reset (interface made again)', beat('a', 'wwan0', { rx: 9000, tx: 9000 }), beat('a', 'wwan0', { rx: 40, tx: 2 }), 42],
    ['no counters now', beat('a', 'wwan0', { rx: 1, tx: 1 }), beat('a', 'wwan0', null), 0],
    ['Wi-Fi bytes do not count', beat('a', 'wlan0', { rx: 5, tx: 5 }), beat('a', 'wlan0', { rx: 5, tx: 5 }), 0],
  ];
  for (const [name, prev, cur, want] of table) assert.equal(lteDelta(prev, cur), want, name);
});

test('HqMetrics per vehicle: online, last heartbeat, active uplink kind, signal, switches, LTE bytes today (reset at UTC midnight), backlog; registered vehicles only', () => {
  let now = Date.parse('2026-12-03T23:59:00Z');
  const fleet = new FleetState({ offlineAfterMs: 15_000, now: () => now });
  const m = new HqMetrics({ fleet, registered: () => 2, vehicles: () => ['bus-1', 'bus-2'], process: false });
  fleet.heartbeat(beat('bus-1', 'wwan0', { rx: 1000, tx: 100 }, -95, 3));
  fleet.heartbeat(beat('intruder', 'wwan0', { rx: 1, tx: 1 })); // not registered: never a label
  now += 10_000;
  fleet.heartbeat(beat('bus-1', 'wwan0', { rx: 6000, tx: 600 }, -97, 3));
  m.stored([ev(1, { vehicle: 'bus-1' }), ev(2, { vehicle: 'bus-1' })], 0);
  let text = m.render();
  for (const line of [
    'roamlink_vehicle_online{vehicle="bus-1"} 1', 'roamlink_vehicle_online{vehicle="bus-2"} 0',
    `roamlink_vehicle_last_heartbeat_timestamp_seconds{vehicle="bus-1"} ${now / 1000}`,
    'roamlink_vehicle_active_uplink{vehicle="bus-1",kind="lte"} 1', 'roamlink_vehicle_active_uplink{vehicle="bus-1",kind="wifi"} 0',
    'roamlink_vehicle_signal_dbm{vehicle="bus-1"} -97', 'roamlink_vehicle_switches_total{vehicle="bus-1"} 2', 'roamlink_vehicle_switches_total{vehicle="bus-2"} 0',
    'roamlink_vehicle_lte_bytes_today{vehicle="bus-1"} 5500', 'roamlink_vehicle_journal_backlog_events{vehicle="bus-1"} 3',
  ]) assert.ok(text.includes(`${line}\n`), line);
  assert.ok(!text.includes('intruder'), 'an unregistered name is never a label');
  assert.ok(!/last_heartbeat_timestamp_seconds\{vehicle="bus-2"\}/.test(text), 'no heartbeat yet: no timestamp');
  assert.ok(!text.includes('process_cpu'), 'process metrics off');

  now += 60_000; // past midnight UTC: a new day, and bus-1 moved 1000 more LTE bytes (on Wi-Fi now)
  fleet.heartbeat(beat('bus-1', 'wlan0', { rx: 6900, tx: 700 }, -97, 0));
  text = m.render();
  assert.ok(text.includes('roamlink_vehicle_lte_bytes_today{vehicle="bus-1"} 1000\n'));
  assert.ok(text.includes('roamlink_vehicle_active_uplink{vehicle="bus-1",kind="wifi"} 1\n'));
  assert.ok(text.includes('roamlink_vehicle_signal_dbm{vehicle="bus-1"} -55\n'));
  assert.deepEqual(fleet.lteDays('bus-1'), [{ day: '2026-12-03', bytes: 5500 }, { day: '2026-12-04', bytes: 1000 }]);
  now += 20_000;
  assert.ok(m.render().includes('roamlink_vehicle_online{vehicle="bus-1"} 0\n'), 'silent past offline_after_ms: offline');
});
