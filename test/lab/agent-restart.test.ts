// The agent restarts under 1000 packets/s each way, gracefully (SIGTERM) and by a crash (SIGKILL): the data plane
// outlives the daemon and the new process adopts it: nothing lost, no switch, HQ's log holds every event once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, scenarioPath, switchLines } from './lab.helpers.js';

const events = (log: string[], name: string) => log.flatMap((l) => {
  try {
    const v = JSON.parse(l) as Record<string, unknown>;
    return v.event === name ? [v] : [];
  } catch {
    return [];
  }
});

test('agent restart (graceful, then SIGKILL) under 1000 pps each way: 0 lost, no switch, HQ log exact', { timeout: 120_000 }, async () => {
  const log: string[] = [];
  const report = await runScenario(await loadScenario(scenarioPath('agent-restart.yaml')), { agentLog: log });
  const faults = (report.faults ?? []);
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, directions: report.directions, faults, switches: report.switches, hq: report.hq_log_check }, null, 1);
  assert.deepEqual(faults.map((f) => [f.kind, f.target, f.mode]), [['restart', 'agent', 'graceful'], ['restart', 'agent', 'kill']], detail);
  for (const f of faults) {
    assert.equal(f.lost, 0, `${f.mode}: ${detail}`);
    // The first packet after the restart comes through at the meters' own spacing: nothing waited for the agent.
    assert.ok(f.outage_ms !== null && f.outage_ms < 50, `${f.mode}: outage ${f.outage_ms} ms: ${detail}`);
    assert.equal(f.switch, null, detail);
  }
  assert.equal(report.traffic.lost, 0, detail);
  // One switch in all: the first process's initial choice (before the clock); the restarted ones adopt, they do not choose.
  assert.deepEqual(switchLines(log).map((l) => l.reason), ['initial'], detail);
  assert.deepEqual(report.switches, [], detail);
  assert.equal(report.hq_log.length, 1, detail);
  assert.equal((report.hq_log_check as { mismatch: number }).mismatch, 0, detail);
  // Each new process found the tunnel interface and wlan0 carrying it, and said so.
  const iface = events(log, 'tunnel.interface');
  assert.deepEqual(iface.map((e) => e.adopted), [false, true, true], detail);
  const adoptedActive = events(log, 'agent.adopt').filter((e) => /wlan0 carries the tunnel: adopted as active/.test(String(e.msg)));
  assert.equal(adoptedActive.length, 2, detail);
  // The graceful stop said it left the data plane (so did the lab's own stop at the end); the killed one said nothing.
  assert.deepEqual(events(log, 'agent.stopped').map((e) => e.mode), ['release', 'release'], detail);
  assert.equal(report.ok, true, detail);
  assert.deepEqual(await labLeftovers(), []);
});
