// The far end silent on every path (every path blackholed) is not a blackhole of
// the active path: no switch, nothing held down, busy and idle; nor is the concentrator killed (SIGKILL) with the tunnel up; with the standbys at the default 1 s pace (they are
// probed at once when the active goes quiet); a blackhole of the active alone still moves within the dead limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { labLeftovers, scenarioPath, switchLines } from './lab.helpers.js';

for (const { file, how, limit } of [{ file: 'far-end.yaml', how: 'while traffic flows', limit: 400 }, { file: 'far-end-idle.yaml', how: 'idle', limit: 1200 }]) {
  test(`${how}: every path blackholed moves nothing; a blackhole of the active alone moves within ${limit} ms`, { timeout: 150_000 }, async () => {
    const log: string[] = [];
    const report = await runScenario(await loadScenario(scenarioPath(file)), { agentLog: log });
    const all = (report.faults ?? []) as Array<{ kind: string; target?: string; uplinks: string[]; active: string | null; applied_ms: number; outage_ms: number | null; lost: number; switch: { to: string; reason: string; detect_ms: number } | null }>;
    const detail = JSON.stringify({ expect: report.expect, traffic: report.traffic, switches: report.switches, faults: all, lines: switchLines(log).map((l) => [l.reason, l.why?.text]) }, null, 1);
    // The blackhole of every path (3-6 s) moves nothing: the only switch answers the blackhole of the active alone (10 s).
    assert.deepEqual(report.switches.map((s) => [s.from, s.to, s.reason]), [['wlan0', 'wlan1', 'blackhole']], detail);
    assert.ok(report.switches[0]!.at_ms >= 10_000, detail);
    assert.deepEqual(switchLines(log).filter((l) => l.reason !== 'initial').map((l) => l.reason), ['blackhole'], detail);
    assert.deepEqual(all.map((f) => [f.kind, f.target ?? f.uplinks.join('+')]), [['blackhole', 'wlan0+wlan1+wwan0'], ['restart', 'concentrator'], ['blackhole', 'wlan0']], detail);
    assert.equal(all[0]!.switch, null, detail);
    // The concentrator killed 1 s after the silence: the data plane and the probe echo outlive it, nothing moves or is lost.
    const killed = all[1]!;
    assert.deepEqual([killed.switch, killed.lost], [null, 0], detail);
    console.log(`${how}: concentrator SIGKILLed: lost ${killed.lost}, outage ${killed.outage_ms} ms`);
    // The blackhole of the active alone, the standbys answering: decided within the dead limit and a reading or two.
    const alone = all[2]!;
    assert.deepEqual([alone.active, alone.switch?.to, alone.switch?.reason], ['wlan0', 'wlan1', 'blackhole'], detail);
    assert.ok(alone.switch!.detect_ms <= limit + 150, `decided ${alone.switch!.detect_ms} ms after the blackhole: ${detail}`);
    console.log(`${how}: blackhole of the active alone: decided after ${alone.switch!.detect_ms} ms, outage ${alone.outage_ms} ms`);
    assert.equal(report.ok, true, detail);
    assert.deepEqual(await labLeftovers(), []);
  });
}
