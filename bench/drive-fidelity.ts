// bench/drive-fidelity (issue 11 item 7): each lab scenario with switches run with --drive, its drive replayed under
// the profile it ran with; a table of the agent's switches against the replay's (same from, to, reason, within 1 s),
// for the drive as recorded on the vehicle and as HQ stored it (shipped inside the tunnel, `roamlink drive export`).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenario } from '../shared/scenario.js';
import { runScenario } from '../lab/runner.js';
import { parseDrive } from '../shared/wire/drive.js';
import { simulateDrive } from '../agent/drive/replay.js';

const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'drive-flap,dozen-switches,failover-blackhole,failover-carrier,failover-idle,far-end,hq-restart,selection-drive,selection-lte,site-profile,fleet-log').split(',');
const dir = fileURLToPath(new URL('../../test/lab/scenarios/', import.meta.url));

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/drive-fidelity needs root (the lab)');
  const tmp = await mkdtemp(join(tmpdir(), 'drive-fidelity-'));
  let total = 0;
  let matched = 0;
  let matchedHq = 0;
  console.log(`${'scenario'.padEnd(22)} ${'agent'.padStart(5)} ${'replay'.padStart(6)} ${'match'.padStart(5)}  worst |Δt|  ${'HQ match'.padStart(8)}  worst |Δt|  differences`);
  try {
    for (const name of SCENARIOS) {
      const file = join(tmp, `${name}.jsonl`);
      const hqFile = join(tmp, `${name}.hq.jsonl`);
      let report;
      try {
        report = await runScenario(await loadScenario(join(dir, `${name}.yaml`)), { drive: file, hqDrive: hqFile });
      } catch (err) {
        console.log(`${name.padEnd(22)} lab run failed: ${String(err).slice(0, 120)}`);
        continue;
      }
      const agent = report.switches;
      const compare = (replay: Array<{ at_ms: number; from: string | null; to: string; reason: string }>) => {
        let ok = 0;
        let worst = 0;
        const diffs: string[] = [];
        for (let i = 0; i < Math.max(agent.length, replay.length); i++) {
          const a = agent[i];
          const r = replay[i];
          if (a && r && a.from === (r.from ?? '-') && a.to === r.to && a.reason === r.reason && Math.abs(a.at_ms - r.at_ms) <= 1000) {
            ok++;
            worst = Math.max(worst, Math.abs(a.at_ms - r.at_ms));
          } else diffs.push(`#${i}: agent ${a ? `${a.at_ms} ${a.from}->${a.to} ${a.reason}` : '-'} / replay ${r ? `${r.at_ms} ${r.from}->${r.to} ${r.reason}` : '-'}`);
        }
        return { n: replay.length, ok, worst, diffs };
      };
      const own = compare((await simulateDrive(parseDrive(await readFile(file, 'utf8'), file), {})).baseline.switches);
      const hq = compare((await simulateDrive(parseDrive(await readFile(hqFile, 'utf8'), hqFile), {})).baseline.switches);
      total += agent.length;
      matched += own.ok;
      matchedHq += hq.ok;
      const diffs = [...own.diffs, ...hq.diffs.map((d) => `HQ ${d}`)];
      console.log(`${name.padEnd(22)} ${String(agent.length).padStart(5)} ${String(own.n).padStart(6)} ${String(own.ok).padStart(5)}  ${`${own.worst} ms`.padStart(9)}  ${String(hq.ok).padStart(8)}  ${`${hq.worst} ms`.padStart(9)}  ${diffs.join('; ')}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  console.log(`fidelity: ${matched} of ${total} agent switches reproduced by the replay of the vehicle's drive, ${matchedHq} of ${total} by the replay of HQ's export (same from, to, reason; within 1 s)`);
}

await main();
