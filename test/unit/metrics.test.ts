// Prometheus text format by hand: counters, gauges, histograms, label escaping, and the concentrator's metric set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry, formatValue } from '../../shared/wire/prometheus.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
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
