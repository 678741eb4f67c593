// A site's thresholds tried on the drives HQ holds (`roamlink site simulate`, POST /v1/sites/:name/simulate): every
// vehicle that drove there over the window, replayed through the agent's own arbiter (agent/drive/replay.ts) under the
// site's current profile and under the proposed one, applied only while the vehicle was at that site.
import { InputError } from '../../shared/errors.js';
import { parseDrive } from '../../shared/wire/drive.js';
import { policyOverridesSchema, policyWith, type Policy, type PolicyOverrides } from '../../shared/policy.js';
import type { Site } from '../../shared/wire/site-profile.js';
import { flapWarnings, signalJitter, type Summary } from '../../agent/drive/summary.js';
import { NOT_REPLAYED, recordedSwitchCount, replayDrive, type PolicyOf } from '../../agent/drive/replay.js';
import type { DriveRepository } from '../store/drives/repository.js';
import { exportDrive } from './export.js';

export interface VehicleSimulation {
  vehicle: string;
  segments: number;
  /** Switches the agent made on these drives. */
  recorded: number;
  current: Summary;
  proposed: Summary;
}

export interface SiteSimulation {
  site: string;
  since: string;
  until: string;
  /** The site's effective thresholds now, and with the proposal; `changed` lists only what differs. */
  current: Policy;
  proposed: Policy;
  changed: Record<string, { from: number | string; to: number | string }>;
  vehicles: VehicleSimulation[];
  total: { current: Summary; proposed: Summary };
  /** Allowed, but said: thresholds that would flap by construction on these drives' own signals, fields not replayed. */
  warnings: string[];
}

const SUMMED: Array<keyof Summary> = ['switches', 'ping_pong', 'lte_ms', 'lte_mb', 'below_ms', 'failovers', 'outage_ms'];

function total(xs: readonly Summary[]): Summary {
  const t = Object.fromEntries(SUMMED.map((k) => [k, xs.reduce((a, x) => a + x[k], 0)])) as unknown as Summary;
  t.lte_mb = Math.round(t.lte_mb * 1000) / 1000;
  return t;
}

/** The proposal over the site's own profile, checked whole as a site profile is (an InputError names the field). */
export function proposedProfile(site: Site, overrides: Record<string, unknown>, field = (k: string) => k): PolicyOverrides {
  const r = policyOverridesSchema.safeParse({ ...site.profile, ...overrides });
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(i.message, field(i.path.join('.') || '(profile)'));
  }
  return r.data;
}

/** A vehicle's drive at the site, as text: what a simulation replays. */
export interface SiteDrive {
  vehicle: string;
  text: string;
}

/** The drives of every vehicle that drove at the site over [sinceWall, untilWall]: only the segments naming it
 *  (elsewhere both profiles are the drive's own, and replay the same). Reads only: quick, on HQ's event loop. */
export async function siteDrives(repo: Pick<DriveRepository, 'segments' | 'text'>, site: string, sinceWall: number, untilWall: number): Promise<SiteDrive[]> {
  const vehicles = [...new Set((await repo.segments({ site, sinceWall, untilWall })).map((s) => s.vehicle))];
  const out: SiteDrive[] = [];
  for (const vehicle of vehicles) {
    const d = await exportDrive(repo, vehicle, sinceWall, untilWall, site);
    if (d) out.push({ vehicle, text: d.text });
  }
  return out;
}

/** Replays the site's vehicles over [sinceWall, untilWall] under its current profile and under `proposed`. */
export async function simulateSite(repo: Pick<DriveRepository, 'segments' | 'text'>, site: Site, overrides: PolicyOverrides, sinceWall: number, untilWall: number): Promise<SiteSimulation> {
  return simulateDrives(await siteDrives(repo, site.name, sinceWall, untilWall), site, overrides, sinceWall, untilWall);
}

/** The replays themselves (CPU: about a millisecond a drive line), pure over the drives' texts, so a worker thread
 *  can run them (simulate.thread.ts). */
export async function simulateDrives(drives: readonly SiteDrive[], site: Site, overrides: PolicyOverrides, sinceWall: number, untilWall: number): Promise<SiteSimulation> {
  const current = policyWith(site.profile as Partial<Policy>);
  const proposed = policyWith(proposedProfile(site, overrides) as Partial<Policy>);
  const at = (p: Policy): PolicyOf => (recorded, where) => (where === site.name ? p : policyWith(recorded as Partial<Policy>));
  const out: VehicleSimulation[] = [];
  const warnings = new Set<string>();
  for (const { vehicle, text } of drives) {
    const segments = parseDrive(text, `${vehicle}'s drive`);
    const [now, next] = [await replayDrive(segments, at(current)), await replayDrive(segments, at(proposed))];
    out.push({ vehicle, segments: segments.length, recorded: recordedSwitchCount(segments), current: now.summary, proposed: next.summary });
    for (const w of flapWarnings(proposed, signalJitter(segments))) warnings.add(`${vehicle}: ${w}`);
  }
  const skipped = Object.keys(overrides).filter((k) => NOT_REPLAYED.includes(k));
  if (skipped.length) warnings.add(`${skipped.join(', ')} not replayed: the drives' uplinks behave as recorded`);
  const changed = Object.fromEntries(Object.entries(proposed).filter(([k, v]) => current[k as keyof Policy] !== v).map(([k, v]) => [k, { from: current[k as keyof Policy], to: v }]));
  return {
    site: site.name, since: new Date(sinceWall).toISOString(), until: new Date(untilWall).toISOString(), current, proposed, changed,
    vehicles: out, total: { current: total(out.map((v) => v.current)), proposed: total(out.map((v) => v.proposed)) }, warnings: [...warnings],
  };
}
