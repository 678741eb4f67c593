// Drives in the lab (issue 11, items 5-7): a flapping drive recorded with --drive, replayed through the agent's own
// arbiter under the profile it ran with (the agent's switches: same from, to, reason, within 1 s) and under a wider
// hysteresis (fewer switches). The same drive shipped to HQ inside the tunnel, written back by `roamlink drive export`
// and read by `roamlink replay`, reproduces them too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { parseDrive } from '../../shared/wire/drive.js';
import { simulateDrive } from '../../agent/drive/replay.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { labLeftovers, scenarioPath } from './lab.helpers.js';

const ROAMLINK = fileURLToPath(new URL('../../../bin/roamlink', import.meta.url));

test('a recorded flapping drive replays to the agent\'s own switches; a wider hysteresis makes fewer', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'roamlink-drive-'));
  try {
    const file = join(dir, 'drive.jsonl');
    const fromHq = join(dir, 'hq-drive.jsonl');
    const report = await runScenario(await loadScenario(scenarioPath('drive-flap.yaml')), { drive: file, hqDrive: fromHq });
    const segments = parseDrive(await readFile(file, 'utf8'), file);
    const own = await simulateDrive(segments, {});
    const detail = JSON.stringify({ lab: report.switches.map(({ at_ms, from, to, reason }) => ({ at_ms, from, to, reason })), replay: own.baseline.switches }, null, 1);
    assert.ok(report.switches.length >= 3, `the drive flaps: ${detail}`);
    assert.equal(own.baseline.switches.length, report.switches.length, detail);
    for (const [i, sw] of report.switches.entries()) {
      const r = own.baseline.switches[i]!;
      assert.deepEqual([r.from, r.to, r.reason], [sw.from, sw.to, sw.reason], `switch ${i}: ${detail}`);
      assert.ok(Math.abs(r.at_ms - sw.at_ms) <= 1000, `switch ${i} within 1 s: ${detail}`);
    }
    const wide = await simulateDrive(segments, { hysteresis_db: 10 });
    assert.ok(wide.summary.switches < own.summary.switches, `hysteresis 10 dB: ${wide.summary.switches} switches, own ${own.summary.switches}`);
    assert.ok(own.summary.ping_pong >= 1 && wide.summary.ping_pong === 0);
    // What HQ stored, exported and replayed by the CLI: the agent's switches again.
    const replayed = await new Promise<string>((resolve, reject) => execFile(process.execPath, [ROAMLINK, 'replay', fromHq, '--json'], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))));
    const hq = JSON.parse(replayed) as { baseline: { switches: Array<{ at_ms: number; from: string; to: string; reason: string }> } };
    const hqDetail = JSON.stringify({ lab: report.switches.map(({ at_ms, from, to, reason }) => ({ at_ms, from, to, reason })), hq: hq.baseline.switches }, null, 1);
    assert.equal(hq.baseline.switches.length, report.switches.length, hqDetail);
    for (const [i, sw] of report.switches.entries()) {
      const r = hq.baseline.switches[i]!;
      assert.deepEqual([r.from, r.to, r.reason], [sw.from, sw.to, sw.reason], `HQ's drive, switch ${i}: ${hqDetail}`);
      assert.ok(Math.abs(r.at_ms - sw.at_ms) <= 1000, `HQ's drive, switch ${i} within 1 s: ${hqDetail}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(await labLeftovers(), []);
});
