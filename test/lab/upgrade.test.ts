// An upgrade of the agent and of the concentrator under traffic, each new process run from another build directory:
// 0 lost, no switch, as for a plain restart (issue 10 items 1 and 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { run } from '../../shared/exec.js';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, lostFrom, scenarioPath, switchLines } from './lab.helpers.js';

/** The command lines of the processes in `ns`. */
async function cmdlines(ns: string): Promise<string[]> {
  const pids = (await run(['ip', 'netns', 'pids', ns], { allowFail: true })).stdout.split('\n').filter(Boolean);
  return pids.flatMap((p) => {
    try {
      return [readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ')];
    } catch {
      return [];
    }
  });
}

test('an upgrade of the agent, then of the concentrator, under 1000 packets/s each way: 0 lost, no switch', { timeout: 90_000 }, async () => {
  const log: string[] = [];
  let after: { agent: string[]; hq: string[] } | null = null;
  const report = await runScenario(await loadScenario(scenarioPath('upgrade.yaml')), {
    agentLog: log,
    // After both upgrades: which build the daemons run from.
    during: async ({ tNow, topo }) => {
      while (tNow() < 7000) await new Promise((r) => setTimeout(r, 100));
      after = { agent: (await cmdlines(topo.ns.veh)).filter((c) => / agent --config /.test(c)), hq: (await cmdlines(topo.ns.hq)).filter((c) => / hq --config /.test(c)) };
    },
  });
  const restarts = ((report.faults ?? []) as Array<{ kind: string; target: string; upgrade?: boolean; build?: string; applied_ms: number; ready_ms?: number | null; outage_ms: number | null; lost: number | null }>).filter((f) => f.kind === 'restart');
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches, why: switchLines(log).map((l) => [l.reason, l.why?.text]), restarts, after, fault_errors: report.fault_errors }, null, 1);
  assert.deepEqual(report.fault_errors, [], detail);
  assert.deepEqual(restarts.map((r) => [r.target, r.upgrade]), [['agent', true], ['concentrator', true]], detail);
  const build = restarts[0]!.build!;
  assert.ok(build && !build.startsWith(process.cwd()) && build.endsWith('/upgrade/bin/roamlink'), detail);
  // The new processes run the other build, the old ones are gone.
  assert.ok(after !== null, detail);
  const ran = after as unknown as { agent: string[]; hq: string[] };
  assert.equal(ran.agent.length, 1, detail);
  assert.equal(ran.hq.length, 1, detail);
  assert.ok(ran.agent[0]!.includes(build) && ran.hq[0]!.includes(build), detail);
  assert.ok(restarts[1]!.ready_ms != null, `the new concentrator said it was ready: ${detail}`);
  for (const r of restarts) assert.equal(r.lost, 0, detail);
  assert.equal(lostFrom(report, restarts[0]!.applied_ms - 100), 0, detail);
  assert.deepEqual(report.switches, [], detail);
  console.log(`upgrade: agent outage ${restarts[0]!.outage_ms} ms, concentrator outage ${restarts[1]!.outage_ms} ms, lost ${report.traffic.lost} of ${report.traffic.sent} (from the first fault: 0)`);
  assert.deepEqual(await labLeftovers(), []);
});
