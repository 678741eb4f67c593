// The lab vehicle's drive (`roamlink lab run --drive FILE`): the agent's drive files, one segment per agent start,
// joined, with the scenario's clock as the drive's origin so a replay counts at_ms as the lab report does.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { joinDrive } from '../shared/wire/drive.js';

/** Writes `out` from the drive files in `dir` (oldest first); origin and until are the scenario clock's wall ms. */
export async function exportLabDrive(dir: string, out: string, originWall: number, untilWall: number): Promise<void> {
  const files = (await readdir(dir)).filter((f) => /^drive-.*\.jsonl$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no drive recorded in ${dir}`);
  // An agent killed mid-write leaves a last line cut short: joinDrive keeps each file's whole lines.
  const texts = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
  await writeFile(out, joinDrive(texts, originWall, untilWall, out));
}
