// The lab vehicle's drive (`roamlink lab run --drive FILE`): the agent's drive files, one segment per agent start,
// joined, with the scenario's clock as the drive's origin so a replay counts at_ms as the lab report does.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { joinDrive, parseDrive } from '../shared/wire/drive.js';

/** Writes `out` from the drive files in `dir` (oldest first); origin and until are the scenario clock's wall ms. */
export async function exportLabDrive(dir: string, out: string, originWall: number, untilWall: number): Promise<void> {
  const files = (await readdir(dir)).filter((f) => /^drive-.*\.jsonl$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no drive recorded in ${dir}`);
  // An agent killed mid-write leaves a last line cut short: joinDrive keeps each file's whole lines.
  const texts = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
  await writeFile(out, joinDrive(texts, originWall, untilWall, out));
}

/**
 * Writes `out` with `roamlink drive export` at HQ (`hq` runs roamlink there), over [originWall, untilWall]: tried
 * again (every 200 ms, at most 15 s) until what HQ holds reaches untilWall (the agent ships on its interval).
 */
export async function exportHqDrive(
  hq: (args: string[]) => Promise<{ exitCode: number; stderr: string }>, vehicle: string, out: string, originWall: number, untilWall: number, signal?: AbortSignal,
): Promise<void> {
  const iso = (ms: number) => new Date(Math.round(ms)).toISOString();
  let last = '';
  for (let i = 0; i < 75; i++) {
    const r = await hq(['drive', 'export', '--vehicle', vehicle, '--since', iso(originWall), '--until', iso(untilWall), '--out', out]);
    if (r.exitCode === 0) {
      const segs = parseDrive(await readFile(out, 'utf8'), out);
      const seg = segs.at(-1)!;
      const reached = seg.header.start_wall + (seg.events.at(-1)?.t ?? 0);
      if (reached >= untilWall) return;
      last = `HQ's drive reaches ${Math.round(untilWall - reached)} ms short of the run's end`;
    } else last = r.stderr.trim();
    await sleep(200, undefined, { signal });
  }
  throw new Error(`the vehicle's drive did not reach HQ: ${last}`);
}
