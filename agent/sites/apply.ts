// Which thresholds apply where the vehicle is: the site of the AP in use, its profile over the defaults (pure).
import type { Policy } from '../policy/policy.js';
import { effectiveProfile, matchSite, type ApInUse, type EffectiveProfile, type SiteSet } from '../../shared/wire/site-profile.js';

export interface Applied {
  /** The matched site's name, or null (defaults apply). */
  site: string | null;
  version: number | null;
  profile: EffectiveProfile;
  /** The part the arbiter's policy takes. */
  policy: Policy;
}

export function policyOf(p: EffectiveProfile): Policy {
  return {
    switch_below: p.switch_below, hysteresis_db: p.hysteresis_db, below_ms: p.below_ms, hold_ms: p.hold_ms, dwell_ms: p.dwell_ms,
    hold_down_ms: p.hold_down_ms, dead_busy_ms: p.dead_busy_ms, dead_idle_ms: p.dead_idle_ms, busy_window_ms: p.busy_window_ms,
    loss_max: p.loss_max, forced_hold_ms: p.forced_hold_ms, lte: p.lte,
  };
}

/** The profile for the AP in use (null on LTE or not associated: the `default` site, else the defaults). */
export function applyFor(set: SiteSet | null, ap: ApInUse | null): Applied {
  const site = set ? matchSite(set.sites, ap) : null;
  const profile = effectiveProfile(site?.profile ?? {});
  return { site: site?.name ?? null, version: site?.version ?? null, profile, policy: policyOf(profile) };
}
