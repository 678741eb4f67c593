// Site profiles on the vehicle: the site is matched by the AP in use, and its thresholds replace the config's in the
// arbiter (policy.set), without a restart; re-applied after each switch and each new profile set.
import type { Logger } from '../../shared/log.js';
import type { ApInUse } from '../../shared/wire/site-profile.js';
import type { ArbiterView } from '../machines/arbiter.machine.js';
import type { Policy } from '../policy/policy.js';
import type { FleetLink } from '../ship/fleet-link.js';

/** Where the vehicle is: the active uplink's AP, else any radio's (on LTE the vehicle is still at that site) (pure). */
export function apInUse(v: Pick<ArbiterView, 'active' | 'status'>): ApInUse | null {
  const ap = (v.active ? v.status[v.active]?.ap : null) ?? Object.values(v.status).find((u) => u.ap)?.ap ?? null;
  return ap ? { ssid: ap.ssid, bssid: ap.bssid } : null;
}

export interface SiteApplier {
  /** Sends the arbiter the thresholds of the site the vehicle is at, when the site or its profile version changed. */
  apply(link: FleetLink): void;
  /** Forget what was applied (a new profile set): the next apply sends again. */
  reset(): void;
  /**
   * A reload's policy from the config: in effect at once where no site's profile is (sent now); at a site, that site's
   * profile stays in effect (the log says so), and the config's applies once the vehicle leaves it.
   */
  reloadPolicy(p: Policy, link: FleetLink): void;
}

export function createSiteApplier(o: { view: () => ArbiterView; send: (e: { type: 'policy.set'; policy: Policy; site: string | null }) => void; policy: Policy; log: Logger }): SiteApplier {
  let policy = o.policy;
  let lastSite: string | null | undefined;
  let lastVersion: number | null | undefined;
  const apply = (link: FleetLink) => {
    const applied = link.profileFor(apInUse(o.view()));
    if (applied.site === lastSite && applied.version === lastVersion) return;
    lastVersion = applied.version;
    lastSite = applied.site;
    o.send({ type: 'policy.set', policy: applied.site ? applied.policy : policy, site: applied.site });
    o.log.info({ event: 'site.applied', site: applied.site, version: applied.version }, `thresholds of site ${applied.site ?? '(none: config)'}`);
  };
  return {
    apply,
    reset() {
      lastSite = undefined;
    },
    reloadPolicy(p, link) {
      policy = p;
      lastSite = undefined;
      apply(link);
      const at = lastSite as string | null | undefined; // set by apply
      if (at) o.log.info({ event: 'config.policy', site: at }, `the config's new policy applies away from site ${at}, whose profile is in effect here`);
    },
  };
}
