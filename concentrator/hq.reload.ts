// The concentrator's config reload (SIGHUP, `systemctl reload roamlink-hq`): the fields it takes live. Every reload
// also re-reads the admin operators and reconciles peers and routes with the registry (what SIGHUP always did).
import type { HqConfig } from '../shared/config/hq.js';
import { createReloader, type ConfigReloader } from '../shared/config/reloader.js';
import type { Logger } from '../shared/log.js';

/**
 * Live: the log level (the operators are read from the store again by every reload, whatever changed). Anything else
 * (interface, ports, keys, networks and pools, listeners and TLS, state, the firewall, retention and timing) needs a
 * restart, which keeps the tunnels up: a reload that changes it is refused, naming the fields, and nothing changes.
 */
export const HQ_LIVE_FIELDS = ['log_level'] as const;

export const HQ_RESTART = 'systemctl restart roamlink-hq: the tunnels stay up';

export function createHqReloader(o: { load: () => Promise<HqConfig>; initial: HqConfig; log: Logger }): ConfigReloader<HqConfig> {
  return createReloader<HqConfig>({
    load: o.load,
    initial: o.initial,
    live: HQ_LIVE_FIELDS,
    restart: HQ_RESTART,
    apply(next) {
      o.log.level = next.log_level;
    },
    log: o.log,
  });
}
