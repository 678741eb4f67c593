// Lab links in a whole lab run (issue 13, item 4): the AP's link drops and delays as its timeline says, step by step,
// the report says what every link was, and the emulators are gone with the lab; a failover onto the emulated LTE link
// carries both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, scenarioPath } from './lab.helpers.js';

interface Dir {
  name: string;
  lost_runs: Array<[number, number, number]>;
  delay_ms: { min: number; avg: number; max: number } | null;
}

test('an AP link with 2 % loss and 10 ms, then 0 % and 30 ms: the traffic sees both, the report says so', { timeout: 120_000 }, async () => {
  const relays: number[] = [];
  let whileRunning: string[] = [];
  const report = await runScenario(await loadScenario(scenarioPath('links.yaml')), {
    during: async ({ topo }) => {
      for (const l of topo.links.values()) if (l.pid !== undefined) relays.push(l.pid);
      whileRunning = await labLeftovers();
    },
  });
  const dirs = (report.directions ?? []) as Dir[];
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches, links: report.links, directions: dirs.map((d) => ({ ...d, lost_runs: d.lost_runs.slice(0, 20) })) }, null, 1);
  assert.equal(report.ok, true, detail);
  assert.deepEqual(report.switches, [], detail);
  // No copies through LTE (the scenario turns redundancy off): every packet measured came over the AP's link.
  assert.deepEqual(Object.entries(report.uplinks ?? {}).filter(([, u]) => u.bytes_redundant > 0), [], detail);

  // What the links were: the AP's two steps as asked, applied on time; LTE's realistic defaults.
  const links = report.links ?? [];
  assert.deepEqual(links.map((l) => [l.name, l.kind, l.emulated]), [['aps[0]', 'wifi', true], ['lte', 'lte', true]], detail);
  const ap = links[0]!;
  assert.deepEqual(ap.steps.map(({ at_ms, delay_ms, jitter_ms, loss, rate_mbit }) => ({ at_ms, delay_ms, jitter_ms, loss, rate_mbit })), [
    { at_ms: 0, delay_ms: 10, jitter_ms: 0, loss: 0.02, rate_mbit: null },
    { at_ms: 5000, delay_ms: 30, jitter_ms: 0, loss: 0, rate_mbit: null },
  ], detail);
  assert.ok(ap.steps[1]!.applied_ms !== null && Math.abs(ap.steps[1]!.applied_ms - 5000) < 100, detail);
  assert.deepEqual(links[1]!.steps.map((s) => [s.delay_ms, s.jitter_ms, s.loss, s.rate_mbit]), [[25, 8, 0.01, 20]], detail);

  // The loss: about 2 % of each direction's first 5,000 packets (100 expected; 3 standard deviations is ±30), and
  // none once the link loses none (a margin of 100 ms for packets in flight at the step).
  for (const d of dirs) {
    const lostIn = (from: number, to: number) => d.lost_runs.reduce((n, [first, count]) => n + Math.max(0, Math.min(first + count, to) - Math.max(first, from)), 0);
    const before = lostIn(0, 5000);
    assert.ok(before >= 60 && before <= 140, `${d.name}: ${before} lost in the first 5 s: ${detail}`);
    assert.equal(lostIn(5100, 10_000), 0, `${d.name}: lost after the loss stopped: ${detail}`);
    // The delay: 10 ms for half the run, 30 ms for the other, never less but for the meters' clocks (within about a
    // ms of each other) and the relay sending up to 0.5 ms early; the tunnel and a loaded machine add to it
    // (2026-12, load 11 on 2 cores: min 16, avg 31.5, max 213 ms).
    assert.ok(d.delay_ms && d.delay_ms.min >= 8.5 && d.delay_ms.avg >= 19.5 && d.delay_ms.avg <= 80, `${d.name}: ${JSON.stringify(d.delay_ms)}`);
  }
  // The emulator counted the drops it made (each way; a few hit the agent's probes rather than the traffic).
  const counted = ap.counted!;
  const lost = report.traffic.lost;
  assert.ok(counted.up.dropped + counted.down.dropped >= lost && counted.up.dropped + counted.down.dropped <= lost + 30, detail);

  // The leftovers check sees a lab while it runs (its namespaces, the two tunnel ends' sockets and wireguard-go), and
  // none of it after.
  const kinds = (l: string[]) => [...new Set(l.map((x) => x.split(' ')[0]!.replace(/\/run\/wireguard\/.*/, 'socket')))].sort();
  assert.deepEqual(kinds(whileRunning), ['namespace', 'socket', 'wireguard-go'], whileRunning.join(', '));
  assert.deepEqual(await labLeftovers(), []);
  assert.equal(relays.length, 2);
  for (const pid of relays) assert.throws(() => process.kill(pid, 0), `the link relay ${pid} outlived the lab`);
});

test('a carrier loss of the Wi-Fi onto LTE, on realistic links: both directions come back on LTE', { timeout: 90_000 }, async () => {
  const report = await runScenario(await loadScenario(scenarioPath('lte-link-failover.yaml')));
  const dirs = (report.directions ?? []) as Dir[];
  const faults = (report.faults ?? []) as Array<{ outage_ms: number | null; switch: { to: string; reason: string } | null }>;
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches, faults, links: report.links, directions: dirs.map((d) => ({ ...d, lost_runs: d.lost_runs.slice(0, 20) })) }, null, 1);
  assert.deepEqual(faults.map((f) => [f.switch?.to, f.switch?.reason]), [['wwan0', 'carrier-loss']], detail);
  // Back within a second (the switch takes 60-100 ms; the outage is measured at the receiver, LTE's 25 ms included).
  assert.ok(faults[0]!.outage_ms !== null && faults[0]!.outage_ms < 1000, detail);
  // From 1 s after the fault to the end, each direction loses about LTE's 1 % (40 of 4,000; 200 is 5 %). Before the
  // carrier's bridges were kept out of its conntrack, the downlink lost all 4,000.
  for (const d of dirs) {
    const lost = d.lost_runs.reduce((n, [first, count]) => n + Math.max(0, Math.min(first + count, 8000) - Math.max(first, 4000)), 0);
    assert.ok(lost <= 200, `${d.name}: ${lost} lost from 4 s to 8 s: ${detail}`);
  }
  assert.equal(report.ok, true, detail);
  assert.deepEqual(await labLeftovers(), []);
});
