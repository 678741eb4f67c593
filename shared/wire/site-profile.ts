// Sites and their threshold profiles on the wire: validated here (ranges, and rules between fields), fetched by agents.
import { z } from 'zod';
import { DEFAULT_POLICY, POLICY_FIELDS, policyOverridesSchema, policyShape, policyWith, type Policy, type PolicyField, type PolicyOverrides } from '../policy.js';
import { isoTime, siteName } from './common.js';

/**
 * A site's thresholds: the policy's overrides (shared/policy.ts, the one definition). Every field is optional: what
 * a profile leaves out keeps the default. Unknown fields are refused: a profile holds nothing the agent ignores.
 */
export const profileShape = policyShape;
export type ProfileField = PolicyField;
export const PROFILE_FIELDS: ProfileField[] = POLICY_FIELDS;
export type Profile = PolicyOverrides;
export type EffectiveProfile = Policy;

/** What an agent applies where a profile is silent. */
export const PROFILE_DEFAULTS: Readonly<EffectiveProfile> = DEFAULT_POLICY;

export function effectiveProfile(p: Profile): EffectiveProfile {
  return policyWith(p);
}

export const profileSchema = policyOverridesSchema;

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
