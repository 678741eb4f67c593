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
  // The standbys' links and addresses, as the kernel reports each change (netlink), on the scenario's clock.
  const netlink: Array<{ tMs: number; line: string }> = [];
  const report = await runScenario(await loadScenario(scenarioPath('agent-restart.yaml')), {
    agentLog: log,
    during: async ({ topo, tNow }) => {
      topo.procs.start('netlink-monitor', ['ip', '-o', 'monitor', 'link', 'address'], { netns: topo.ns.veh, onStdoutLine: (line) => netlink.push({ tMs: tNow(), line }) });
    },
  });
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
  // Adoption does not cycle the standbys: from the first restart on, no link or address change on wlan1 or wwan0
  // (not even an address re-added), and the new processes report them probing then ready, never down, addressing or
  // configuring. The modem's bearer is adopted, not dialed again.
  const restartAt = faults[0]!.applied_ms;
  const standbyChanges = netlink.filter((n) => n.tMs >= restartAt && /\b(wlan1|wwan0)\b/.test(n.line));
  assert.deepEqual(standbyChanges, [], `netlink changes on the standbys across the restarts: ${JSON.stringify(standbyChanges)}`);
  const firstAdopted = log.findIndex((l) => l.includes('"event":"tunnel.interface"') && l.includes('"adopted":true'));
  assert.ok(firstAdopted > 0, detail);
  const phasesAfter = events(log.slice(firstAdopted), 'uplink.phase').filter((e) => e.uplink !== 'wlan0').map((e) => `${String(e.uplink)} ${String(e.phase)}`);
  assert.deepEqual([...new Set(phasesAfter)].sort(), ['wlan1 probing', 'wlan1 ready', 'wwan0 probing', 'wwan0 ready'], `the standbys' phases after the restarts: ${phasesAfter.join(', ')}`);
  // The bearer is dialed once in all, by the first process; a restarted one whose modem reached its bearer check within
  // the run adopted it (the last one, started 7 s before the end, may still be registering).
  const modemLines = log.filter((l) => /"component":"modem"/.test(l) && /modem\.(status|adopted)|bearer requested/.test(l)).map((l) => String((JSON.parse(l) as { msg: string }).msg));
  assert.equal(log.filter((l) => l.includes('"msg":"bearer requested"')).length, 1, `dialed once, by the first process: ${modemLines.join(' | ')}`);
  assert.ok(events(log, 'modem.adopted').length >= 1, `a restarted process adopted the bearer: ${modemLines.join(' | ')}`);
  assert.equal(report.ok, true, detail);
  assert.deepEqual(await labLeftovers(), []);
});
