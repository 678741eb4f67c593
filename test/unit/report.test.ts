// The report: the expect verdicts, time per uplink, the schema, and the summary people read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateExpect, formatSummary, reportSchema, uplinkTime, type Measured, type Report } from '../../shared/report.js';

const traffic = { pps: 1000, sent: 80_000, received: 79_592, lost: 408, duplicates: 0, max_gap_ms: 412 };
const switches = [
  { at_ms: 15_234, from: 'wlan0', to: 'wlan1', reason: 'signal', gap_ms: 1, lost: 0 },
  { at_ms: 20_612, from: 'wlan1', to: 'wwan0', reason: 'blackhole', gap_ms: 412, lost: 408 },
];
const measured: Measured = { traffic, switches };

test('evaluateExpect: each limit against what was measured, in the scenario order', () => {
  const table: Array<{ name: string; expect: Record<string, number | undefined>; want: unknown }> = [
    { name: 'nothing expected', expect: {}, want: [] },
    {
      name: 'the core limits',
      expect: { switches_min: 2, lost_max: 0, max_gap_ms: 500, switches_max: 1 },
      want: [
        { name: 'switches_min', limit: 2, actual: 2, ok: true },
        { name: 'lost_max', limit: 0, actual: 408, ok: false },
        { name: 'max_gap_ms', limit: 500, actual: 412, ok: true },
        { name: 'switches_max', limit: 1, actual: 2, ok: false },
      ],
    },
    { name: 'limits are inclusive', expect: { lost_max: 408, max_gap_ms: 412, switches_min: 2, switches_max: 2 }, want: [
      { name: 'lost_max', limit: 408, actual: 408, ok: true },
      { name: 'max_gap_ms', limit: 412, actual: 412, ok: true },
      { name: 'switches_min', limit: 2, actual: 2, ok: true },
      { name: 'switches_max', limit: 2, actual: 2, ok: true },
    ] },
    { name: 'a limit without a rule fails, unmeasured', expect: { lost_mx: 0 }, want: [{ name: 'lost_mx', limit: 0, actual: null, ok: false }] },
    { name: 'undefined entries are skipped', expect: { lost_max: undefined }, want: [] },
  ];
  for (const { name, expect, want } of table) assert.deepEqual(evaluateExpect(expect, measured), want, name);
});

test('evaluateExpect: restart limits see the restarts alone, either daemon, either mode', () => {
  const faults = [
    { kind: 'blackhole', outage_ms: 380, lost: 760 },
    { kind: 'restart', outage_ms: 2.1, lost: 0 },
    { kind: 'restart', outage_ms: 12, lost: 3 },
    { kind: 'switch', outage_ms: 1, lost: 0 },
  ];
  const table: Array<{ name: string; faults: Measured['faults']; want: Array<[string, number, boolean]> }> = [
    { name: 'worst restart and summed loss', faults, want: [['restart_outage_max_ms', 12, true], ['restart_lost_max', 3, false]] },
    { name: 'no restart: nothing to hold against', faults: faults.filter((f) => f.kind !== 'restart'), want: [['restart_outage_max_ms', 0, true], ['restart_lost_max', 0, true]] },
    { name: 'never back: infinite', faults: [{ kind: 'restart', outage_ms: null, lost: 900 }], want: [['restart_outage_max_ms', Infinity, false], ['restart_lost_max', 900, false]] },
  ];
  for (const { name, faults: f, want } of table) {
    const got = evaluateExpect({ restart_outage_max_ms: 100, restart_lost_max: 0 }, { ...measured, faults: f });
    assert.deepEqual(got.map((e) => [e.name, e.actual, e.ok]), want, name);
  }
});

test('uplinkTime: each uplink from its switch to the next', () => {
  const table: Array<{ name: string; args: Parameters<typeof uplinkTime>; want: Record<string, number> }> = [
    { name: 'the design example', args: [[{ at_ms: 15_234, from: 'wlan0', to: 'wlan1' }], 'wlan0', 40_000, ['wlan0', 'wlan1', 'wwan0']], want: { wlan0: 15_234, wlan1: 24_766, wwan0: 0 } },
    { name: 'no switches', args: [[], 'wlan0', 10_000], want: { wlan0: 10_000 } },
    { name: 'no uplink at first', args: [[{ at_ms: 2000, from: 'none', to: 'wlan0' }], null, 10_000], want: { none: 0, wlan0: 8000 } },
    {
      name: 'unsorted, back and forth, clamped to the run',
      args: [[{ at_ms: 6000, from: 'wwan0', to: 'wlan0' }, { at_ms: 1000, from: 'wlan0', to: 'wwan0' }, { at_ms: 12_000, from: 'wlan0', to: 'wlan1' }], 'wlan0', 10_000],
      want: { wlan0: 5000, wwan0: 5000, wlan1: 0 },
    },
  ];
  for (const { name, args, want } of table) {
    const got = uplinkTime(...args);
    assert.deepEqual(got, want, name);
    assert.ok(Object.values(got).reduce((a, b) => a + b, 0) <= args[2], `${name}: no more than the run`);
  }
});

const report: Report = {
  scenario: 'depot-to-street',
  ok: false,
  expect: evaluateExpect({ lost_max: 0, max_gap_ms: 500, switches_min: 2, p99_gap_ms: 5 }, measured),
  traffic,
  switches,
  uplink_ms: uplinkTime(switches, 'wlan0', 40_000, ['wlan0', 'wlan1', 'wwan0']),
  hq_log: [
    { id: 'a1', vehicle: 'lab-car', from: 'wlan0', to: 'wlan1', reason: 'signal' },
    { id: 'a2', vehicle: 'lab-car', from: 'wlan1', to: 'wwan0', reason: 'blackhole' },
  ],
};

test('reportSchema: the design example, extra fields kept, missing ones named', () => {
  const example = {
    scenario: 'depot-to-street', ok: true,
    expect: [{ name: 'lost_max', limit: 0, actual: 0, ok: true }],
    traffic: { pps: 1000, sent: 80000, received: 80000, lost: 0, duplicates: 0, max_gap_ms: 2 },
    switches: [{ at_ms: 15234, from: 'wlan0', to: 'wlan1', reason: 'signal', gap_ms: 0, lost: 0 }],
    uplink_ms: { wlan0: 15234, wlan1: 24766, wwan0: 0 },
    hq_log: [{ id: '…', vehicle: 'lab-car', from: 'wlan0', to: 'wlan1', reason: 'signal' }],
  };
  assert.deepEqual(reportSchema.parse(example), example);
  const extra = { ...example, run: { started: 1 }, traffic: { ...example.traffic, directions: [] } };
  assert.deepEqual(reportSchema.parse(extra), extra);
  const r = reportSchema.safeParse({ ...example, traffic: { ...example.traffic, lost: undefined } });
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues.map((i) => i.path), [['traffic', 'lost']]);
  reportSchema.parse(report);
});

test('formatSummary: aligned switch rows, totals, verdicts', () => {
  const want = [
    'depot-to-street: ✗ expectations not met',
    '',
    '       at  switch         reason        gap  lost',
    '  15.234s  wlan0 → wlan1  signal       1 ms     0',
    '  20.612s  wlan1 → wwan0  blackhole  412 ms   408',
    '',
    '  traffic  1000 pps, 80000 sent, 79592 received, 408 lost, 0 duplicates, max gap 412 ms',
    '  uplinks  wlan0 15.2s, wlan1 5.4s, wwan0 19.4s',
    '  hq log   2 entries',
    '',
    '  expect',
    '    ✓  switches_min             2  ≥    2',
    '    ✗  lost_max               408  ≤    0',
    '    ✓  max_gap_ms             412  ≤  500',
    '    ✗  p99_gap_ms    not measured  ≤    5',
    '',
  ].join('\n');
  // (expect rows follow the scenario's order; this one was built as lost_max, max_gap_ms, switches_min, p99_gap_ms)
  const got = formatSummary({ ...report, expect: [report.expect[2]!, report.expect[0]!, report.expect[1]!, report.expect[3]!] });
  assert.equal(got, want);
  const withFaults = formatSummary({ ...report, expect: [], faults: [
    { kind: 'restart', target: 'agent', mode: 'kill', at_ms: 5000, applied_ms: 5000.4, outage_ms: 2.5, lost: 0, uplinks: ['wlan0'], active: 'wlan0', switch: null },
    { kind: 'blackhole', at_ms: 9000, applied_ms: 9001, outage_ms: null, lost: 1200, uplinks: ['wlan0'], active: 'wlan0', switch: null },
  ] });
  assert.ok(withFaults.endsWith([
    '  faults',
    '        at  fault                     outage  lost',
    '    5.000s  restart agent (kill)      2.5 ms     0',
    '    9.001s  blackhole             never back  1200',
    '',
  ].join('\n')), withFaults);
  const quiet = formatSummary({ ...report, ok: true, switches: [], expect: [], hq_log: [report.hq_log[0]!], uplink_ms: {} });
  assert.match(quiet, /^depot-to-street: ✓ expectations met\n\n  no switches\n/);
  assert.match(quiet, /uplinks  none\n  hq log   1 entry\n$/);
});
