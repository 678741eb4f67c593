// The lab vehicle's drive (`roamlink lab run --drive FILE`): the agent's drive files, one segment per agent start,
// joined, with the scenario's clock as the drive's origin so a replay counts at_ms as the lab report does.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDrive } from '../shared/wire/drive.js';

/** Writes `out` from the drive files in `dir` (oldest first); origin and until are the scenario clock's wall ms. */
export async function exportLabDrive(dir: string, out: string, originWall: number, untilWall: number): Promise<void> {
  const files = (await readdir(dir)).filter((f) => /^drive-.*\.jsonl$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no drive recorded in ${dir}`);
  let text = '';
  for (const f of files) {
    const t = await readFile(join(dir, f), 'utf8');
    // An agent killed mid-write leaves a last line cut short: the drive keeps its whole lines.
    text += t.endsWith('\n') ? t : t.slice(0, t.lastIndexOf('\n') + 1);
  }
  const lines = text.split('\n');
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  lines[0] = JSON.stringify({ ...header, origin_wall: Math.round(originWall), until_wall: Math.round(untilWall) });
  const joined = lines.join('\n');
  parseDrive(joined, out); // what is written reads back
  await writeFile(out, joined);
}
