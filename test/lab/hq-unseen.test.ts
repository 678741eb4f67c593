// Two HQs (issue 14's done criterion), opt-in (ROAMLINK_LAB_LONG=1; 4 scenarios, ~3 minutes): power-offs the first
// test (hq-power-off) has not seen. Each scenario's own expect (the cameras back within 2 s of a power-off of the
// active HQ, or nothing lost when it is the backup; HQ's log complete, each switch once) must hold, and nothing of the
// lab is left behind.
//   ROAMLINK_LAB_LONG=1 node --test --test-concurrency=1 --test-force-exit dist/test/lab/hq-unseen.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers } from './lab.helpers.js';

const skip = process.env.ROAMLINK_LAB_LONG === '1' ? false : 'opt-in: ROAMLINK_LAB_LONG=1 (4 lab runs, ~3 minutes)';
const scenario = (name: string) => fileURLToPath(new URL(`../../../lab/scenarios/${name}`, import.meta.url));

const CASES: Array<{ file: string; what: string; failovers: number }> = [
  { file: 'hq-off-mid-switch.yaml', what: 'hq-a off in the middle of a planned switch', failovers: 1 },
  { file: 'hq-b-off.yaml', what: 'the backup (hq-b) off while hq-a carries the tunnel: nothing lost, nothing moves', failovers: 0 },
  { file: 'hq-off-on-lte.yaml', what: 'hq-a off while the vehicle is on LTE', failovers: 1 },
  { file: 'hq-off-both.yaml', what: 'hq-a off, then hq-b off: the tunnel goes to hq-b and back to hq-a', failovers: 2 },
];

for (const c of CASES) {
  test(`two HQs: ${c.what}`, { skip, timeout: 120_000 }, async () => {
    const report = await runScenario(await loadScenario(scenario(c.file)));
    const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches, faults: report.faults, hq: report.hq, hq_log_check: report.hq_log_check, fault_errors: report.fault_errors }, null, 1);
    assert.deepEqual(report.fault_errors, [], detail);
    assert.equal(report.ok, true, detail);
    assert.equal((report.hq as { failovers: unknown[] }).failovers.length, c.failovers, detail);
    const check = report.hq_log_check as { agent: number; mismatch: number };
    assert.equal(check.mismatch, 0, detail);
    const offs = (report.faults ?? []).filter((f) => f.kind === 'power-off').map((f) => `${String(f.target)} ${f.outage_ms} ms`);
    console.log(`${c.file}: power-offs ${offs.join(', ')}; lost ${report.traffic.lost}; HQ log ${check.agent} once each`);
    assert.deepEqual(await labLeftovers(), []);
  });
}
