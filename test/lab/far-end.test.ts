// The far end silent on every path (a concentrator restart) is not a blackhole of the active path: no switch, nothing
// held down; a blackhole of the active alone still moves within 500 ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, scenarioPath, switchLines } from './lab.helpers.js';

test('a concentrator restart while traffic flows: no switch; then a blackhole of the active alone: on the standby within 500 ms', { timeout: 150_000 }, async () => {
  const log: string[] = [];
  const report = await runScenario(await loadScenario(scenarioPath('far-end.yaml')), { agentLog: log });
  const all = (report.faults ?? []) as Array<{ kind: string; target?: string; active: string | null; outage_ms: number | null; lost: number; switch: { to: string; reason: string } | null }>;
  const faults = all.filter((f) => f.kind === 'blackhole');
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches, faults, lines: switchLines(log).map((l) => [l.reason, l.why?.text]) }, null, 1);
  // The restart (at 3 s) moves nothing: the only switch of the run answers the blackhole at 11 s.
  assert.deepEqual(report.switches.map((s) => [s.from, s.to, s.reason]), [['wlan0', 'wlan1', 'blackhole']], detail);
  assert.ok(report.switches[0]!.at_ms >= 11_000, detail);
  assert.deepEqual(switchLines(log).filter((l) => l.reason !== 'initial').map((l) => l.reason), ['blackhole'], detail);
  // The tunnel came back on wlan0 after the restart (the agent forced a new handshake), and carried the traffic.
  assert.ok(report.traffic.received > 0.5 * report.traffic.sent, detail);
  assert.ok((report.uplink_ms.wlan0 ?? 0) > 10_000, detail);
  // The restart is reported as a fault too, with what it cost, and nothing answered it.
  assert.deepEqual(all.map((f) => [f.kind, f.target ?? null]), [['restart', 'concentrator'], ['blackhole', null]], detail);
  assert.equal(all[0]!.switch, null, detail);
  assert.ok(Number.isInteger(all[0]!.lost), detail);
  // The blackhole of the active alone, the standbys answering: moved within the bound.
  assert.equal(faults.length, 1, detail);
  assert.deepEqual([faults[0]!.active, faults[0]!.switch?.to, faults[0]!.switch?.reason], ['wlan0', 'wlan1', 'blackhole'], detail);
  assert.ok(faults[0]!.outage_ms !== null && faults[0]!.outage_ms < 500, `outage ${faults[0]!.outage_ms} ms: ${detail}`);
  assert.equal(report.ok, true, detail);
  assert.deepEqual(await labLeftovers(), []);
});
