// The agent killed between a switch's steering and its confirmation, under 1000 packets/s each way: the new process
// adopts the tunnel on the uplink it was steered to and completes the journaled intent: HQ gets that switch once, with
// its why, nothing lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, scenarioPath, switchLines } from './lab.helpers.js';

test('agent killed mid-switch (steered, not confirmed): the switch completed at adoption, once at HQ, 0 lost', { timeout: 90_000 }, async () => {
  const log: string[] = [];
  // Test only: the operator's switch (asked at 1 s) waits 8 s between its steering and its confirmation; the kill is at 5 s.
  process.env.ROAMLINK_TEST_HOLD_OPERATOR_STEER_MS = '8000';
  let report;
  try {
    report = await runScenario(await loadScenario(scenarioPath('agent-midswitch.yaml')), { agentLog: log });
  } finally {
    delete process.env.ROAMLINK_TEST_HOLD_OPERATOR_STEER_MS;
  }
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, faults: report.faults, errors: report.fault_errors, switches: report.switches, hq: report.hq_log_check, hq_log: report.hq_log }, null, 1);
  // The killed agent never answered `roamlink switch` (the only fault error: it died holding the request).
  const errors = report.fault_errors as string[];
  assert.equal(errors.length, 1, detail);
  assert.match(errors[0]!, /switch to wlan1/, detail);
  assert.equal(report.traffic.lost, 0, detail);
  // The switch, once: logged by the process that adopted it (the killed one never confirmed it), stored once at HQ.
  const lines = switchLines(log);
  assert.deepEqual(lines.map((l) => [l.reason, l.from, l.to, l.adopted ?? false]), [['initial', null, 'wlan0', false], ['forced', 'wlan0', 'wlan1', true]], detail);
  assert.deepEqual(report.hq_log.map((h) => [h.from, h.to, h.reason]), [['-', 'wlan0', 'initial'], ['wlan0', 'wlan1', 'forced']], detail);
  const forced = report.hq_log[1]! as unknown as { id: string; why?: { text: string; operator: boolean }; ms_to_first_packet: number | null };
  assert.equal(forced.id, lines[1]!.id, detail);
  assert.match(forced.why?.text ?? '', /operator asked for wlan1/, detail);
  assert.equal(forced.why?.operator, true, detail);
  assert.equal(forced.ms_to_first_packet, null, 'never confirmed: no first-packet time is made up');
  assert.equal((report.hq_log_check as { mismatch: number }).mismatch, 0, detail);
  // The new process adopted wlan1 as active: no switch of its own.
  assert.ok(log.some((l) => /wlan1 carries the tunnel: adopted as active/.test(l)), detail);
  assert.deepEqual(await labLeftovers(), []);
});
