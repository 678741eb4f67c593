// HQ's switch log end to end: across a concentrator restart, a long total outage and an agent restart, HQ holds
// every switch the agent made exactly once, in the agent's order. The restarted agent also carries on with the day's
// LTE probe budget where the first one left it (state_dir). The total outage is the far end's: no cascade of switches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { switchLines } from './lab.helpers.js';

test('hq_log equals the agent\'s switches across restarts and a long outage', { timeout: 180_000 }, async () => {
  const sc = await loadScenario(fileURLToPath(new URL('../../../test/lab/scenarios/fleet-log.yaml', import.meta.url)));
  const log: string[] = [];
  const report = await runScenario(sc, { agentLog: log });
  const check = report.hq_log_check as { agent: number; stored: number; mismatch: number };
  const detail = JSON.stringify({ check, switches: report.switches, hq: report.hq_log.map((h) => [h.from, h.to, h.reason]), fault_errors: report.fault_errors }, null, 1);
  assert.deepEqual(report.fault_errors, [], detail);
  // Both operator switches after the restarts, at least, and the first agent's initial choice (the restarted agent
  // adopts the tunnel where it finds it: no initial choice, no switch).
  assert.ok(check.agent >= 4, detail);
  assert.equal(check.stored, check.agent, detail);
  assert.equal(check.mismatch, 0, detail);
  // The report's switches (those within the run) are the tail of HQ's log, in order.
  const hqTail = report.hq_log.slice(-report.switches.length).map((h) => `${h.from}>${h.to}`);
  assert.deepEqual(hqTail, report.switches.map((s) => `${s.from}>${s.to}`), detail);
  assert.equal(report.ok, true, detail);
  // Every path silent for 8 s (from 11 s) is the far end, not the active's path: at most the one blackhole switch
  // decided at the first dead limit, before any standby could have been probed since (their pace is 1 s), and no
  // cascade after it (no switch from path to path, no flip back to the operator's pinned uplink meanwhile).
  const during = report.switches.filter((s) => s.at_ms >= 11_000 && s.at_ms < 19_000);
  assert.ok(during.length <= 1, `switches while every path was silent: ${detail}`);
  for (const s of during) assert.ok(s.reason === 'blackhole' && s.at_ms < 11_600, detail);
  // wwan0 was probed on standby (within its budget) before the restart: the second agent starts from that spend.
  const loaded = log.flatMap((l) => (l.includes('"event":"budget.loaded"') ? [JSON.parse(l) as { uplink: string; bytes: number }] : []));
  assert.equal(loaded.length, 1, `one start from a stored budget (the second): ${JSON.stringify(loaded)}`);
  assert.equal(loaded[0]!.uplink, 'wwan0');
  assert.ok(loaded[0]!.bytes >= 200, `the first run's standby probes are counted: ${loaded[0]!.bytes} bytes`);
  assert.deepEqual(log.filter((l) => l.includes('"event":"budget.store"')), [], 'no store warnings');

  // One record from the decision to HQ: every event HQ stored carries its why, and it is the agent's own switch log
  // line's why (the rule, the line, the site, the thresholds, every candidate's signal, RTT, loss, phase and AP).
  const lines = new Map(switchLines(log).map((l) => [String(l.id), l]));
  let compared = 0;
  const quality: Record<string, number> = {};
  for (const h of report.hq_log) {
    assert.ok(h.why && h.why.text.length > 0 && h.why.candidates.length === 3, `HQ's why of ${h.id}: ${JSON.stringify(h.why)}`);
    // Time: the lab's clocks agree. HQ checks an event against the agent's monotonic clock and keeps its time (ok),
    // unless the first agent process journaled it and the second shipped it (another timeline: unchecked).
    quality[h.time_quality!] = (quality[h.time_quality!] ?? 0) + 1;
    assert.ok(h.time_quality === 'ok' || h.time_quality === 'unchecked', `HQ's time of ${h.id}: ${JSON.stringify(h)}`);
    assert.equal(h.at, h.vehicle_at, `kept as the vehicle said: ${JSON.stringify(h)}`);
    if (h.time_quality === 'ok') assert.ok(Math.abs(h.clock_offset_ms!) <= 5000, JSON.stringify(h));
    const line = lines.get(h.id);
    if (!line) continue;
    assert.deepEqual(h.why, line.why, `HQ's why of ${h.id} is the agent's`);
    assert.equal(h.vehicle_at, new Date(Number(line.decided_at)).toISOString(), `HQ's vehicle_at of ${h.id} is the agent's decided_at`);
    compared++;
  }
  assert.equal(compared, check.agent, `every switch the agent logged was compared (${compared} of ${check.agent})`);
  assert.ok((quality.ok ?? 0) >= 1, `HQ checked some times: ${JSON.stringify(quality)}`);
  // seq: strictly increasing in HQ's log, across the agent's restart (the journal keeps it).
  const seqs = report.hq_log.map((h) => h.seq!);
  assert.ok(seqs.every((q, i) => i === 0 || q > seqs[i - 1]!), `seqs ${JSON.stringify(seqs)}`);
  console.log(`# why compared: ${compared} events, agent's log line = HQ's stored why; times ${JSON.stringify(quality)}; seqs ${seqs.join(',')}`);
});
