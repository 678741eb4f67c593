// Which thresholds apply where the vehicle is: the site of the AP in use, its profile over the defaults (pure).
import type { Policy } from '../../shared/policy.js';
import { effectiveProfile, matchSite, type ApInUse, type SiteSet } from '../../shared/wire/site-profile.js';

export interface Applied {
  /** The matched site's name, or null (defaults apply). */
  site: string | null;
  version: number | null;
  /** The whole policy the site's profile makes (every field the profile may set, the arbiter's and the uplinks'). */
  policy: Policy;
}

/** The policy a profile makes: the same object (a profile's fields are the policy's, shared/policy.ts). */
export function policyOf(p: Policy): Policy {
  return p;
}

/** The profile for the AP in use (null on LTE or not associated: the `default` site, else the defaults). */
export function applyFor(set: SiteSet | null, ap: ApInUse | null): Applied {
  const site = set ? matchSite(set.sites, ap) : null;
  return { site: site?.name ?? null, version: site?.version ?? null, policy: effectiveProfile(site?.profile ?? {}) };
}
