// The watchdog's checks beyond the concentrator: ICMP echo to hosts through the tunnel (the system `ping`, argv through
// shared/exec.ts) and DNS resolution with given servers from a given source address (node:dns).
//
// The issue names the `ping` npm package; it is not installed here (2026-11), so this driver runs the system's ping
// (iputils) instead. The package can replace pingHost() behind the same interface.
import { Resolver } from 'node:dns/promises';
import { run as defaultRun, type Runner } from '../../../shared/exec.js';

export interface WatchdogDriver {
  /** One echo request to `host` out of `ifname`; the RTT in ms, or null when no reply came within `timeoutMs`. */
  pingHost(host: string, ifname: string, timeoutMs: number, signal: AbortSignal): Promise<number | null>;
  /**
   * Resolves `name` (A records) with these servers, sending from `localAddress` (so the query leaves through that
   * uplink's own path). Resolves with the addresses; rejects when no server answered or the answer is an error.
   */
  resolve(name: string, servers: string[], localAddress: string | null, timeoutMs: number, signal: AbortSignal): Promise<string[]>;
}

/** The RTT of the reply in ping's output ("… time=0.045 ms"), or null when there is none (pure). */
export function parsePingRtt(stdout: string): number | null {
  const m = /\btime[=<]([\d.]+)\s*ms\b/.exec(stdout);
  return m ? Number(m[1]) : null;
}

/** ping's argv: numeric, one echo, a whole-second deadline of its own (it must exit), out of one interface. */
export function pingArgv(host: string, ifname: string, timeoutMs: number): string[] {
  return ['ping', '-n', '-q', '-c', '1', '-W', String(Math.max(1, Math.ceil(timeoutMs / 1000))), '-I', ifname, host];
}

export function createWatchdogDriver(run: Runner = defaultRun): WatchdogDriver {
  return {
    async pingHost(host, ifname, timeoutMs, signal) {
      // -q prints only the summary; its "rtt min/avg/max" line carries the time. Use the non-quiet form's parser on it.
      const r = await run(pingArgv(host, ifname, timeoutMs), { signal, allowFail: true });
      if (r.exitCode !== 0) return null;
      const m = /= ([\d.]+)\/([\d.]+)\//.exec(r.stdout);
      return m ? Number(m[2]) : (parsePingRtt(r.stdout) ?? 0);
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
