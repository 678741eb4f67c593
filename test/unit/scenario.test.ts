// The scenario file: valid examples parse to ms, invalid ones fail naming file and field; signal traces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../shared/errors.js';
import { loadScenario, parseScenario, signalAt, type SignalTrace } from '../../shared/scenario.js';

const dir = fileURLToPath(new URL('../../../test/scenarios/', import.meta.url));

test('the design example parses, times normalized to ms', async () => {
  const s = await loadScenario(`${dir}depot-to-street.yaml`);
  assert.equal(s.name, 'depot-to-street');
  assert.equal(s.duration, 40_000);
  assert.deepEqual(s.traffic, { pps: 1000, direction: 'both' });
  assert.deepEqual(s.aps[0], { ssid: 'depot', bssid: '02:00:00:00:00:01', security: 'open', signal: [[0, -48], [15_000, -62], [25_000, -88]] });
  assert.deepEqual(s.lte, { signal: [[0, -95]] });
  assert.deepEqual(s.faults, [
    { at: 20_000, kind: 'blackhole', uplink: 'active', for: 3000 },
    { at: 30_000, kind: 'carrier-loss', uplink: 'wlan1' },
    { at: 32_000, kind: 'restart', target: 'concentrator', mode: 'graceful' },
    { at: 36_000, kind: 'switch', to: 'wwan0' },
  ]);
  assert.deepEqual(s.expect, { lost_max: 0, max_gap_ms: 300, switches_min: 2 });
  assert.deepEqual(s.agent, { connect_list: [{ ssid: 'depot', min_signal: -80 }, { ssid: 'street-7', min_signal: -78 }] });
  // A parsed scenario is itself a valid scenario, and parses to itself.
  assert.deepEqual(parseScenario(s, 'again'), s);
});

test('defaults and the other valid examples', async () => {
  const min = await loadScenario(`${dir}minimal-lte.yaml`);
  assert.deepEqual(min, {
    name: 'minimal-lte', duration: 5000, traffic: { pps: 100, direction: 'both' }, aps: [],
    lte: { signal: [[0, -95], [2500, -105]] }, agent: {}, faults: [], expect: {},
  });
  const sec = await loadScenario(`${dir}secured-aps.yaml`);
  assert.deepEqual(sec.aps.map((a) => [a.bssid, a.security, a.psk]), [
    ['02:00:00:00:01:01', 'psk', 'correct-horse'],
    ['02:00:00:00:01:02', 'psk', 'correct-horse'],
  ]);
  assert.equal(sec.agent.hold_ms, 2000, 'agent overrides other than connect_list pass through');
  assert.equal(sec.expect.p99_gap_ms, 50, 'expect is open for more limits');
  assert.deepEqual(sec.faults[0], { at: 12_000, kind: 'carrier-loss', uplink: 'wlan0', for: 8000 });
});

test('invalid files fail with the file and the field', async () => {
  const table: Array<{ file: string; want: RegExp }> = [
    { file: 'positive-dbm.yaml', want: /positive-dbm\.yaml: aps\[1\]\.signal\[2\]: dBm must be negative/ },
    { file: 'unknown-fault.yaml', want: /unknown-fault\.yaml: faults\[0\]\.kind: expected one of blackhole, carrier-loss, restart, switch, power-off/ },
    { file: 'fault-past-end.yaml', want: /faults\[0\]\.for: ends at 42000ms, past the duration \(40000ms\)/ },
    { file: 'times-descend.yaml', want: /aps\[0\]\.signal\[2\]: times must ascend/ },
    { file: 'bad-bssid.yaml', want: /aps\[0\]\.bssid: not a BSSID: "02:00:00:00:01"/ },
    { file: 'bad-duration.yaml', want: /duration: not a duration: "40 parsecs"/ },
    { file: 'connect-list-positive.yaml', want: /agent\.connect_list\[0\]\.min_signal: 80 is not a signal level/ },
    { file: 'typo-key.yaml', want: /typo-key\.yaml: Unrecognized key: "expcet"/ },
    { file: 'yaml-syntax.yaml', want: /yaml-syntax\.yaml:6:\d+: YAML syntax: / },
    { file: 'psk-missing.yaml', want: /aps\[0\]\.psk: required when security is psk/ },
    { file: 'alias-bomb.yaml', want: /alias-bomb\.yaml: YAML: Excessive alias count/ },
    { file: 'huge-duration.yaml', want: /duration: duration too long/ },
  ];
  for (const { file, want } of table) {
    await assert.rejects(loadScenario(`${dir}invalid/${file}`), (e: unknown) => {
      assert.ok(e instanceof InputError, `${file}: an InputError`);
      assert.match(e.message, want, file);
      assert.ok(e.message.includes(`invalid/${file}`), `${file}: the message names the file`);
      return true;
    });
  }
});

test('inline cases: values and cross-field checks', () => {
  const base = { name: 'x', duration: '10s', traffic: { pps: 10 }, lte: { signal: [['0s', -95]] } };
  const bad: Array<{ name: string; given: Record<string, unknown>; want: RegExp }> = [
    { name: 'dBm below range', given: { aps: [{ ssid: 'a', signal: [[0, -130]] }] }, want: /aps\[0\]\.signal\[0\]: dBm must be at least -120/ },
    { name: 'dBm zero', given: { aps: [{ ssid: 'a', signal: [[0, 0]] }] }, want: /aps\[0\]\.signal\[0\]: dBm must be negative/ },
    { name: 'empty trace', given: { aps: [{ ssid: 'a', signal: [] }] }, want: /aps\[0\]\.signal: needs at least one/ },
    { name: 'point not a pair', given: { aps: [{ ssid: 'a', signal: [[0]] }] }, want: /aps\[0\]\.signal\[0\]/ },
    { name: 'same ssid, no bssid', given: { aps: [{ ssid: 'a', bssid: '02:00:00:00:00:01', signal: [[0, -50]] }, { ssid: 'a', signal: [[0, -50]] }] }, want: /aps\[1\]\.bssid: required: another AP has the ssid "a"/ },
    { name: 'bssid twice (any case)', given: { aps: [{ ssid: 'a', bssid: '02:00:00:00:00:0A', signal: [[0, -50]] }, { ssid: 'b', bssid: '02:00:00:00:00:0a', signal: [[0, -50]] }] }, want: /aps\[1\]\.bssid: 02:00:00:00:00:0a is also aps\[0\]'s/ },
    { name: 'psk with open', given: { aps: [{ ssid: 'a', security: 'open', psk: 'abcdefgh', signal: [[0, -50]] }] }, want: /aps\[0\]\.psk: given, but security is open/ },
    { name: 'psk too short, not quoted', given: { aps: [{ ssid: 'a', psk: 'short', signal: [[0, -50]] }] }, want: /aps\[0\]\.psk: not a valid psk \(.*got 5 characters\)$/ },
    { name: 'no uplink', given: { lte: undefined }, want: /aps: the scenario has no uplink/ },
    { name: 'bad direction', given: { traffic: { pps: 10, direction: 'sideways' } }, want: /traffic\.direction: expected one of both, up, down/ },
    { name: 'pps zero', given: { traffic: { pps: 0 } }, want: /traffic\.pps: at least 1/ },
    { name: 'fault at the end', given: { faults: [{ at: '10s', kind: 'restart', target: 'agent' }] }, want: /faults\[0\]\.at: 10000ms is not within the duration/ },
    { name: 'restart target', given: { faults: [{ at: '1s', kind: 'restart', target: 'router' }] }, want: /faults\[0\]\.target: expected one of concentrator, agent/ },
    { name: 'restart mode', given: { faults: [{ at: '1s', kind: 'restart', target: 'agent', mode: 'gentle' }] }, want: /faults\[0\]\.mode: expected one of graceful, kill/ },
    { name: 'restart upgrade', given: { faults: [{ at: '1s', kind: 'restart', target: 'agent', upgrade: 'yes' }] }, want: /faults\[0\]\.upgrade: expected true or false/ },
    { name: 'blackhole needs for', given: { faults: [{ at: '1s', kind: 'blackhole', uplink: 'all' }] }, want: /faults\[0\]\.for: / },
    { name: 'fault missing kind', given: { faults: [{ at: '1s' }] }, want: /faults\[0\]\.kind: expected one of/ },
    { name: 'unknown fault field', given: { faults: [{ at: '1s', kind: 'switch', to: 'wlan0', from: 'wwan0' }] }, want: /faults\[0\]: Unrecognized key: "from"/ },
    { name: 'uplink not an ifname', given: { faults: [{ at: '1s', kind: 'carrier-loss', uplink: 'the wifi' }] }, want: /faults\[0\]\.uplink: not an interface name: "the wifi"/ },
    { name: 'uplink not a string', given: { faults: [{ at: '1s', kind: 'carrier-loss', uplink: 5 }] }, want: /faults\[0\]\.uplink: expected an uplink name, active or all/ },
    { name: 'switches min > max', given: { expect: { switches_min: 3, switches_max: 1 } }, want: /expect\.switches_max: less than switches_min \(3\)/ },
    { name: 'lost_max negative', given: { expect: { lost_max: -1 } }, want: /expect\.lost_max: must not be negative/ },
    { name: 'extra expect not a number', given: { expect: { p99_gap_ms: 'fast' } }, want: /expect\.p99_gap_ms: expected a number/ },
    { name: 'time negative', given: { duration: -5 }, want: /duration: not a duration: -5/ },
    { name: 'hq replicas 3', given: { hq: { replicas: 3, store: 'postgres' } }, want: /hq\.replicas: expected 1 or 2/ },
    { name: 'hq store unknown', given: { hq: { replicas: 1, store: 'mysql' } }, want: /hq\.store: expected sqlite or postgres/ },
    { name: 'two HQs on SQLite', given: { hq: { replicas: 2, store: 'sqlite' } }, want: /hq\.store: two HQs share one store: postgres/ },
    { name: 'power-off with one HQ', given: { faults: [{ at: '1s', kind: 'power-off', target: 'hq-a', for: '2s' }] }, want: /faults\[0\]\.target: a power-off needs hq: \{ replicas: 2 \}/ },
    { name: 'power-off of a machine not there', given: { hq: { replicas: 2, store: 'postgres' }, faults: [{ at: '1s', kind: 'power-off', target: 'hq-c', for: '2s' }] }, want: /faults\[0\]\.target: expected one of hq-a, hq-b/ },
    { name: 'power-off needs for', given: { hq: { replicas: 2, store: 'postgres' }, faults: [{ at: '1s', kind: 'power-off', target: 'hq-a' }] }, want: /faults\[0\]\.for: / },
    { name: 'power-off past the end', given: { hq: { replicas: 2, store: 'postgres' }, faults: [{ at: '5s', kind: 'power-off', target: 'hq-a', for: '10s' }] }, want: /faults\[0\]\.for: ends at 15000ms, past the duration/ },
    { name: 'a concentrator restart with two HQs', given: { hq: { replicas: 2, store: 'postgres' }, faults: [{ at: '1s', kind: 'restart', target: 'concentrator' }] }, want: /faults\[0\]\.target: with two HQs, power off hq-a or hq-b/ },
    { name: 'connect_list not a list', given: { agent: { connect_list: 'depot' } }, want: /agent\.connect_list: connect_list must be a list of entries/ },
    { name: 'connect_list entry checked by the agent schema', given: { agent: { connect_list: [{ ssid: 'a', bssid: '02:00' }] } }, want: /agent\.connect_list\[0\]\.bssid: "02:00" is not a MAC address/ },
  ];
  for (const { name, given, want } of bad) {
    assert.throws(() => parseScenario({ ...base, ...given }, 'inline'), (e: unknown) => e instanceof InputError && want.test(e.message), name);
  }
  const ok = parseScenario({ ...base, faults: [{ at: 9999, kind: 'blackhole', uplink: 'wlan0', for: '1ms' }] }, 'inline');
  assert.deepEqual(ok.faults, [{ at: 9999, kind: 'blackhole', uplink: 'wlan0', for: 1 }]);
  const kill = parseScenario({ ...base, faults: [{ at: '2s', kind: 'restart', target: 'agent', mode: 'kill' }, { at: '3s', kind: 'restart', target: 'agent' }] }, 'inline');
  assert.deepEqual(kill.faults.map((f) => f.kind === 'restart' && f.mode), ['kill', 'graceful'], 'mode defaults to graceful');
  const up = parseScenario({ ...base, faults: [{ at: '2s', kind: 'restart', target: 'concentrator', upgrade: true }] }, 'inline');
  assert.deepEqual(up.faults, [{ at: 2000, kind: 'restart', target: 'concentrator', mode: 'graceful', upgrade: true }]);
  const two = parseScenario({ ...base, hq: { replicas: 2, store: 'postgres' }, faults: [{ at: '1s', kind: 'power-off', target: 'hq-a', for: '10s' }], duration: '20s' }, 'inline');
  assert.deepEqual([two.hq, two.faults], [{ replicas: 2, store: 'postgres' }, [{ at: 1000, kind: 'power-off', target: 'hq-a', for: 10_000 }]]);
  assert.deepEqual(parseScenario({ ...base, hq: {} }, 'inline').hq, { replicas: 1, store: 'sqlite' }, 'hq\'s fields default to one HQ on SQLite');
  const lte = parseScenario({ ...base, lte: { signal: [[0, -135]] } }, 'inline');
  assert.deepEqual(lte.lte, { signal: [[0, -135]] }, 'RSRP reaches below Wi-Fi range');
});

test('a missing file is an InputError naming it', async () => {
  await assert.rejects(loadScenario('/nonexistent/x.yaml'), /\/nonexistent\/x\.yaml: cannot read the scenario: ENOENT/);
});

test('signalAt: linear in between, clamped at the ends, steps at equal times', () => {
  const trace: SignalTrace = [[0, -48], [15_000, -62], [25_000, -88], [30_000, -60], [30_000, -90]];
  const table: Array<[number, number]> = [
    [-1000, -48], [0, -48], [7500, -55], [15_000, -62], [20_000, -75], [25_000, -88],
    [27_500, -74], [29_999, -60.0056], [30_000, -90], [99_000, -90],
  ];
  for (const [t, want] of table) assert.ok(Math.abs(signalAt(trace, t) - want) < 1e-3, `t=${t}: ${signalAt(trace, t)} != ${want}`);
  assert.equal(signalAt([[5000, -70]], 0), -70);
  assert.equal(signalAt([[5000, -70]], 9000), -70);
  assert.throws(() => signalAt([], 0), /empty trace/);
});
