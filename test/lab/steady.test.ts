// A healthy run (issue 3, item 5): no false switch, nothing lost. The suite runs 30 s; STEADY_MS=600000 runs the issue's
// 10 minutes (e.g. `STEADY_MS=600000 node --test dist/test/lab/steady.test.js`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, scenarioPath } from './lab.helpers.js';

const durationMs = Number(process.env.STEADY_MS ?? 30_000);

test(`steady for ${durationMs / 1000} s at 1000 packets/s each way, signals wandering within the hysteresis: no switch, nothing lost`, { timeout: durationMs + 120_000 }, async () => {
  const sc = await loadScenario(scenarioPath('steady.yaml'));
  sc.duration = durationMs;
  const log: string[] = [];
  const report = await runScenario(sc, { agentLog: log });
  const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches }, null, 1);
  assert.deepEqual(report.switches, [], detail);
  assert.equal(report.traffic.lost, 0, detail);
  assert.equal(report.traffic.sent, 2 * durationMs, detail);
  // The watchdog ran its checks through the tunnel (real pings from the vehicle to HQ's hosts) and found nothing to act on.
  const wd = log.filter((l) => l.includes('"event":"watchdog.'));
  assert.ok(wd.length === 1 && wd[0]!.includes('"ok":true'), wd.join('\n'));
  assert.equal(report.ok, true, detail);
  assert.deepEqual(await labLeftovers(), []);
});
