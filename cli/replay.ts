// `roamlink replay DRIVE [--set k=v]... [--profile FILE] [--json]`: a recorded drive through the agent's own arbiter under
// other thresholds: the switches it would make and what they cost, beside the same under the drive's own profile.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../shared/errors.js';
import { parseDrive, type DriveSegment } from '../shared/wire/drive.js';
import { POLICY_FIELDS as PROFILE_FIELDS, policyOverridesSchema as profileSchema, type Policy, type PolicyOverrides as Profile } from '../shared/policy.js';
import type { Simulation } from '../agent/drive/replay.js';
import type { Summary } from '../agent/drive/summary.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const collect = (v: string, prev: string[]) => [...prev, v];


/** --profile's file (YAML or JSON: profile fields, or an object with `profile`, as `site show --json` prints) and
 *  --set's field=value, later ones winning; checked as a site profile is. Pure but for reading the file. */
export async function overridesOf(sets: readonly string[], profileFile?: string): Promise<Profile> {
  let base: Record<string, unknown> = {};
  if (profileFile) {
    let text: string;
    try {
      text = await readFile(profileFile, 'utf8');
    } catch (err) {
      throw new InputError(`cannot read ${profileFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, '--profile');
    }
    let v: unknown;
    try {
      v = parseYaml(text);
    } catch (err) {
      throw new InputError(`${profileFile}: not YAML or JSON: ${(err as Error).message.split('\n')[0]}`, '--profile');
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(`${profileFile}: must be an object of profile fields`, '--profile');
    const o = v as Record<string, unknown>;
    base = typeof o.profile === 'object' && o.profile !== null ? (o.profile as Record<string, unknown>) : o;
    const r = profileSchema.safeParse(base);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new InputError(`${i.message}`, `--profile ${profileFile}: ${i.path.join('.') || '(profile)'}`);
    }
  }
  const p: Record<string, unknown> = { ...base };
  for (const a of sets) {
    const i = a.indexOf('=');
    if (i <= 0) throw new InputError(`"${a}" is not FIELD=VALUE (e.g. hysteresis_db=8)`, '--set');
    const key = a.slice(0, i).trim().replace(/-/g, '_');
    const raw = a.slice(i + 1).trim();
    if (!(PROFILE_FIELDS as string[]).includes(key)) throw new InputError(`not a profile field (one of ${PROFILE_FIELDS.join(', ')})`, `--set ${key}`);
    p[key] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    const one = profileSchema.safeParse({ [key]: p[key] });
    if (!one.success) throw new InputError(`${JSON.stringify(raw)}: ${one.error.issues[0]!.message}`, `--set ${key}`);
  }
  const r = profileSchema.safeParse(p);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(i.message, `--set ${i.path.join('.')}`);
  }
  return r.data;
}

export async function readDrive(file: string): Promise<DriveSegment[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'DRIVE');
  }
  return parseDrive(text, file);
}

/** The contract's JSON (design.md, "Contracts added 2026-12"), with the agent's own switches and warnings beside. */
export function simulationJson(s: Simulation): object {
  const sw = (x: Simulation['switches']) => x.map(({ at_ms, from, to, reason }) => ({ at_ms, from: from ?? '-', to, reason }));
  return {
    switches: sw(s.switches), summary: s.summary,
    baseline: { switches: sw(s.baseline.switches), summary: s.baseline.summary },
    recorded: sw(s.recorded), warnings: s.warnings,
  };
}

const SUMMARY_ROWS: Array<[keyof Summary, string]> = [
  ['switches', 'switches'], ['ping_pong', 'back-and-forth within 30 s'], ['lte_ms', 'time on LTE (ms)'], ['lte_mb', 'MB on LTE (est.)'],
  ['below_ms', 'time on Wi-Fi below switch_below (ms)'], ['failovers', 'failovers'], ['outage_ms', 'predicted failover outage (ms)'],
];

export function simulationText(s: Simulation, tried: string): string {
  const lines = [`switches ${tried}:`];
  for (const x of s.switches) lines.push(`  ${(x.at_ms / 1000).toFixed(3).padStart(10)} s  ${`${x.from ?? '-'} -> ${x.to}`.padEnd(18)}  ${x.reason}`);
  if (s.switches.length === 0) lines.push('  (none)');
  lines.push('', `${''.padEnd(40)}${tried.padStart(16)}  ${"drive's own".padStart(12)}`);
  for (const [k, label] of SUMMARY_ROWS) lines.push(`${label.padEnd(40)}${String(s.summary[k]).padStart(16)}  ${String(s.baseline.summary[k]).padStart(12)}`);
  lines.push(`${'(the agent made'.padEnd(40)}${String(s.recorded.length).padStart(16)}  switches)`);
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description("a recorded drive through the agent's own arbiter: the switches other thresholds would make, beside the drive's own")
    .argument('<drive>', 'drive file (roamlink lab run --drive, roamlink drive export)')
    .option('--set <field=value>', 'a profile field to try (repeatable), e.g. hysteresis_db=8', collect, [])
    .option('--profile <file>', 'a profile to try (YAML or JSON); --set wins over it')
    .option('--json', 'one JSON object: { switches, summary, baseline, recorded, warnings }')
    .action(async (file: string, opts: { set: string[]; profile?: string; json?: boolean }) => {
      const overrides = await overridesOf(opts.set, opts.profile);
      const segments = await readDrive(file);
      const { simulateDrive } = await import('../agent/drive/replay.js');
      const s = await simulateDrive(segments, overrides as Partial<Policy>);
      const { NOT_REPLAYED } = await import('../agent/drive/replay.js');
      const skipped = Object.keys(overrides).filter((k) => NOT_REPLAYED.includes(k));
      if (skipped.length) s.warnings.push(`${skipped.join(', ')} not replayed: the drive's uplinks behave as recorded`);
      if (opts.json) out(JSON.stringify(simulationJson(s)));
      else out(simulationText(s, Object.keys(overrides).length ? 'tried' : "drive's own"));
    });
}
