// Sites and their threshold profiles on the wire: validated here (ranges, and rules between fields), fetched by agents.
import { z } from 'zod';
import { DEFAULT_POLICY, type Policy } from '../../agent/policy/policy.js';
import { isoTime, siteName } from './common.js';

const ms = (min: number, max: number) => z.number().int(`must be whole milliseconds`).min(min, `must be ≥ ${min} ms`).max(max, `must be ≤ ${max} ms`);
const dbmIn = (min: number, max: number) => z.number().min(min, `must be ≥ ${min} dBm`).max(max, `must be ≤ ${max} dBm`);

/**
 * A site's thresholds. Every field is optional: what a profile leaves out keeps the agent's default
 * (PROFILE_DEFAULTS). The fields mirror agent/policy/policy.ts's Policy, plus the Wi-Fi floor and probe timing.
 */
export const profileShape = {
  /** dBm: an AP weaker than this is not used at all (connect-list entries may ask more). */
  min_signal: dbmIn(-110, -30),
  /** dBm: an active Wi-Fi below this (for below_ms) is not good enough. */
  switch_below: dbmIn(-110, -30),
  /** dB a standby must be better by. */
  hysteresis_db: z.number().min(0, 'must be ≥ 0 dB').max(40, 'must be ≤ 40 dB'),
  below_ms: ms(0, 60_000),
  hold_ms: ms(0, 60_000),
  dwell_ms: ms(0, 600_000),
  hold_down_ms: ms(0, 3_600_000),
  dead_busy_ms: ms(50, 10_000),
  dead_idle_ms: ms(100, 60_000),
  busy_window_ms: ms(10, 10_000),
  loss_max: z.number().min(0, 'must be ≥ 0').max(1, 'must be ≤ 1'),
  forced_hold_ms: ms(0, 86_400_000),
  /** LTE: fallback (when no Wi-Fi is good enough), last-resort (when none is usable), never. */
  lte: z.enum(['fallback', 'last-resort', 'never'], { message: 'must be fallback, last-resort or never' }),
  /** How often a standby uplink is probed through its own path. */
  probe_interval_ms: ms(50, 60_000),
  probe_timeout_ms: ms(10, 10_000),
  /** How often a radio rescans for a better allowed AP. */
  scan_interval_ms: ms(500, 600_000),
} as const;

export type ProfileField = keyof typeof profileShape;
export const PROFILE_FIELDS = Object.keys(profileShape) as ProfileField[];

export type Profile = { [K in ProfileField]?: z.output<(typeof profileShape)[K]> };
export type EffectiveProfile = Required<Profile> & Policy;

/** What an agent applies where a profile is silent. */
export const PROFILE_DEFAULTS: Readonly<EffectiveProfile> = Object.freeze({
  ...DEFAULT_POLICY,
  min_signal: -85,
  probe_interval_ms: 1000,
  probe_timeout_ms: 500,
  scan_interval_ms: 3000,
});

export function effectiveProfile(p: Profile): EffectiveProfile {
  const out: Record<string, unknown> = { ...PROFILE_DEFAULTS };
  for (const [k, v] of Object.entries(p)) if (v !== undefined) out[k] = v;
  return out as unknown as EffectiveProfile;
}

/** Rules between fields, checked on the effective values (so a profile cannot contradict a default either). */
function crossCheck(p: Profile, ctx: z.RefinementCtx): void {
  const e = effectiveProfile(p);
  const bad = (field: ProfileField, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
  const blame = (a: ProfileField, b: ProfileField) => (p[a] !== undefined ? a : b);
  if (e.min_signal > e.switch_below) bad(blame('min_signal', 'switch_below'), `min_signal (${e.min_signal}) must be ≤ switch_below (${e.switch_below})`);
  if (e.dead_busy_ms > e.dead_idle_ms) bad(blame('dead_busy_ms', 'dead_idle_ms'), `dead_busy_ms (${e.dead_busy_ms}) must be ≤ dead_idle_ms (${e.dead_idle_ms})`);
  if (e.busy_window_ms > e.dead_busy_ms) bad(blame('busy_window_ms', 'dead_busy_ms'), `busy_window_ms (${e.busy_window_ms}) must be ≤ dead_busy_ms (${e.dead_busy_ms})`);
  if (e.probe_timeout_ms >= e.probe_interval_ms) bad(blame('probe_timeout_ms', 'probe_interval_ms'), `probe_timeout_ms (${e.probe_timeout_ms}) must be < probe_interval_ms (${e.probe_interval_ms})`);
}

export const profileSchema = z.strictObject(profileShape).partial().superRefine(crossCheck);

const bssid = z
  .string()
  .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'must be a BSSID (6 hex octets with colons)')
  .transform((s) => s.toLowerCase());

/** How a vehicle knows it is at a site: the AP in use has one of these SSIDs or BSSIDs, or its SSID or BSSID starts with an area prefix. */
export const siteMatchSchema = z.strictObject({
  ssid: z.array(z.string().min(1, 'must not be empty').max(32, 'must be at most 32 characters')).max(256).default([]),
  bssid: z.array(bssid).max(1024).default([]),
  area_prefix: z.array(z.string().min(1, 'must not be empty').max(32, 'must be at most 32 characters')).max(256).default([]),
});

export type SiteMatch = z.output<typeof siteMatchSchema>;

/** The site an operator defines: name, match rules, profile. The site named `default` matches nothing and applies when nothing else does. */
export const siteInputSchema = z
  .strictObject({
    name: siteName,
    description: z.string().max(500).nullable().default(null),
    match: siteMatchSchema.default({ ssid: [], bssid: [], area_prefix: [] }),
    profile: profileSchema.default({}),
  })
  .superRefine((s, ctx) => {
    const n = s.match.ssid.length + s.match.bssid.length + s.match.area_prefix.length;
    if (s.name === DEFAULT_SITE && n > 0) ctx.addIssue({ code: 'custom', path: ['match'], message: `the "${DEFAULT_SITE}" site applies where no other matches; it takes no match rules` });
    if (s.name !== DEFAULT_SITE && n === 0) ctx.addIssue({ code: 'custom', path: ['match'], message: 'needs at least one ssid, bssid or area_prefix' });
  });

export const DEFAULT_SITE = 'default';

export type SiteInput = z.input<typeof siteInputSchema>;

/** A site as stored and served: its input plus its version (1 at creation, +1 per change). */
export const siteSchema = z.strictObject({
  name: siteName,
  version: z.number().int().min(1),
  description: z.string().max(500).nullable(),
  match: siteMatchSchema,
  profile: profileSchema,
  updated_at: isoTime,
});

export type Site = z.output<typeof siteSchema>;

/** GET /v1/sites (agents): every site; `version` grows with any change to any site. */
export const siteSetSchema = z.strictObject({
  version: z.number().int().min(0),
  sites: z.array(siteSchema),
});

export type SiteSet = z.output<typeof siteSetSchema>;

/** The AP a vehicle uses, as site matching sees it. */
export interface ApInUse {
  ssid: string;
  bssid: string;
}

/**
 * The site of the AP in use: a BSSID match wins, then an SSID match, then the longest area prefix of the SSID or BSSID;
 * else the `default` site when there is one; else null. Pure.
 */
export function matchSite(sites: readonly Site[], ap: ApInUse | null): Site | null {
  const fallback = sites.find((s) => s.name === DEFAULT_SITE) ?? null;
  if (!ap) return fallback;
  const b = ap.bssid.toLowerCase();
  const byBssid = sites.find((s) => s.match.bssid.includes(b));
  if (byBssid) return byBssid;
  const bySsid = sites.find((s) => s.match.ssid.includes(ap.ssid));
  if (bySsid) return bySsid;
  let best: Site | null = null;
  let bestLen = 0;
  for (const s of sites) {
    for (const p of s.match.area_prefix) {
      const hit = ap.ssid.startsWith(p) || b.startsWith(p.toLowerCase());
      if (hit && p.length > bestLen) {
        best = s;
        bestLen = p.length;
      }
    }
  }
  return best ?? fallback;
}

/** Field-by-field change between two versions of a site (the audit's `what changed`). */
export type SiteDiff = Record<string, { from: unknown; to: unknown }>;

export function diffSites(before: Pick<Site, 'description' | 'match' | 'profile'> | null, after: Pick<Site, 'description' | 'match' | 'profile'>): SiteDiff {
  const flat = (s: Pick<Site, 'description' | 'match' | 'profile'> | null): Record<string, unknown> => {
    if (!s) return {};
    const out: Record<string, unknown> = { description: s.description };
    for (const [k, v] of Object.entries(s.match)) out[`match.${k}`] = v;
    for (const [k, v] of Object.entries(s.profile)) if (v !== undefined) out[`profile.${k}`] = v;
    return out;
  };
  const a = flat(before);
  const b = flat(after);
  const diff: SiteDiff = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const from = a[k] ?? null;
    const to = b[k] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) diff[k] = { from, to };
  }
  return diff;
}
