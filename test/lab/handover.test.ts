// The lab end to end: real WireGuard, NAT, DHCP and emulated radios; operator-forced switches lose no packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, scenarioPath as scenario } from './lab.helpers.js';

test('a dozen operator-forced switches across wlan0, wlan1 and wwan0 at 1000 packets/s each way lose nothing', { timeout: 120_000 }, async () => {
  const sc = await loadScenario(scenario('dozen-switches.yaml'));
  const log: string[] = [];
  const report = await runScenario(sc, { agentLog: log });
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches, fault_errors: report.fault_errors }, null, 1);
  assert.equal(report.switches.length, 13, detail);
  assert.deepEqual(report.switches.map((s) => s.to), ['wlan1', 'wwan0', 'wlan0', 'wwan0', 'wlan1', 'wlan0', 'wlan1', 'wwan0', 'wlan0', 'wlan1', 'wwan0', 'wlan1', 'wlan0'], detail);
  assert.ok(report.switches.every((s) => s.reason === 'forced'), detail);
  // Both directions counted every packet they sent.
  assert.equal(report.traffic.sent, 2 * 1000 * 16, detail);
  assert.equal(report.traffic.lost, 0, detail);
  assert.equal(report.ok, true, detail);
  for (const u of ['wlan0', 'wlan1', 'wwan0']) assert.ok((report.uplink_ms[u] ?? 0) > 2000, `${u} carried the tunnel: ${JSON.stringify(report.uplink_ms)}`);
  assert.deepEqual(await labLeftovers(), [], 'the lab tore down everything it made');
});
