// The watchdog's checks beyond the concentrator: ICMP echo to hosts through the tunnel (the npm `ping` package, which
// runs the system's ping with an argv, no shell, and parses its output) and DNS resolution with given servers from a
// given source address (node:dns).
import { Resolver } from 'node:dns/promises';
import ping from 'ping';

export interface WatchdogDriver {
  /** One echo request to `host` out of `ifname`; the RTT in ms, or null when no reply came within `timeoutMs`. */
  pingHost(host: string, ifname: string, timeoutMs: number, signal: AbortSignal): Promise<number | null>;
  /**
   * Resolves `name` (A records) with these servers, sending from `localAddress` (so the query leaves through that
   * uplink's own path). Resolves with the addresses; rejects when no server answered or the answer is an error.
   */
  resolve(name: string, servers: string[], localAddress: string | null, timeoutMs: number, signal: AbortSignal): Promise<string[]>;
}

/** What the driver asks of `ping`: its promise API's probe (a fake in tests). */
export type Probe = (host: string, config: ping.PingConfig) => Promise<{ alive: boolean; time: number | 'unknown' }>;

/**
 * The ping package's config for one echo out of one interface: numeric, one reply wanted, ping's own whole-second
 * deadline (-W) so the process always exits by itself.
 */
export function pingConfig(ifname: string, timeoutMs: number): ping.PingConfig {
  return { numeric: true, min_reply: 1, timeout: Math.max(1, Math.ceil(timeoutMs / 1000)), sourceAddr: ifname };
}

/** The RTT of a probe's answer (pure): its time when alive, 0 when alive without a time, null when not. */
export function rttOf(r: { alive: boolean; time: number | 'unknown' }): number | null {
  if (!r.alive) return null;
  return typeof r.time === 'number' && Number.isFinite(r.time) ? r.time : 0;
}

export function createWatchdogDriver(probe: Probe = ping.promise.probe as Probe): WatchdogDriver {
  return {
    async pingHost(host, ifname, timeoutMs, signal) {
      if (signal.aborted) return null;
      // The package takes no AbortSignal: an abort stops the wait at once, and the ping it started ends by its own
      // deadline (pingConfig's -W, at most ceil(timeoutMs / 1000) s later).
      let onAbort = () => {};
      const aborted = new Promise<null>((resolve) => {
        onAbort = () => resolve(null);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([probe(host, pingConfig(ifname, timeoutMs)).then(rttOf, () => null), aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    async resolve(name, servers, localAddress, timeoutMs, signal) {
      const resolver = new Resolver({ timeout: Math.max(1, timeoutMs), tries: 1 });
      resolver.setServers(servers);
      if (localAddress) resolver.setLocalAddress(localAddress);
      const onAbort = () => resolver.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await resolver.resolve4(name);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
  };
}
