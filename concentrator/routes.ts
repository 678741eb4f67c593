// HQ's routes to vehicle subnets through the WireGuard interface: a small driver over `ip`, tagged with our own protocol.
import { run as defaultRun, type Runner } from '../shared/exec.js';

/**
 * Routes we program carry this protocol number (`ip route … proto 82`), so listing tells ours from the kernel's
 * connected route and from anything an operator added by hand: we only ever delete our own.
 */
export const ROUTE_PROTO = 82;

export interface RouteEntry {
  /** Always a CIDR ("10.20.1.0/24"; `ip` prints host routes without "/32"; we add it). */
  dst: string;
  /** As `ip -j` prints it: a name ("kernel") or a number ("82"); absent for "boot". */
  protocol?: string;
}

export interface CallOptions {
  netns?: string;
  signal?: AbortSignal;
}

/** What the concentrator asks of the routing table. Every call is idempotent. */
export interface RoutesDriver {
  /** All routes on `dev` in the main table. */
  list(dev: string, opts?: CallOptions): Promise<RouteEntry[]>;
  /** Adds or replaces the route to `dst` through `dev`, tagged ROUTE_PROTO. */
  replace(dst: string, dev: string, opts?: CallOptions): Promise<void>;
  /** Deletes our route to `dst` through `dev`; absent is fine. */
  remove(dst: string, dev: string, opts?: CallOptions): Promise<void>;
  /**
   * Runs an `ip -batch` script (lines like `route replace … proto 82`) with `-force`: a line the kernel refuses is
   * reported and the next lines still run. A line `ip` cannot parse ends the script there (iproute2 6.1, measured
   * 2026-11), so callers render only lines that parse. Never throws for a failed line: the caller re-reads the table.
   */
  batch(script: string, opts?: CallOptions): Promise<BatchResult>;
  /** Gives `dev` the address `cidr` (e.g. 10.99.0.1/24, replacing it if present) and brings it up. */
  addressUp(dev: string, cidr: string, opts?: CallOptions): Promise<void>;
}

export interface BatchResult {
  ok: boolean;
  /** What `ip` printed about the lines that failed ("RTNETLINK answers: …", "Command failed -:LINE"); '' when ok. */
  errors: string;
}

/** Parses `ip -j route show …` (pure). */
export function parseRoutes(json: string): RouteEntry[] {
  const raw = JSON.parse(json.trim() || '[]') as Array<{ dst: string; protocol?: string }>;
  return raw.map((r) => ({
    dst: r.dst === 'default' ? '0.0.0.0/0' : r.dst.includes('/') ? r.dst : `${r.dst}/32`,
    ...(r.protocol !== undefined ? { protocol: String(r.protocol) } : {}),
  }));
}

export function isOurs(r: RouteEntry): boolean {
  return r.protocol === String(ROUTE_PROTO);
}

export function createRoutes(run: Runner = defaultRun): RoutesDriver {
  return {
    async list(dev, opts) {
      const r = await run(['ip', '-j', 'route', 'show', 'dev', dev], { netns: opts?.netns, signal: opts?.signal });
      return parseRoutes(r.stdout);
    },
    async replace(dst, dev, opts) {
      await run(['ip', 'route', 'replace', dst, 'dev', dev, 'proto', String(ROUTE_PROTO)], { netns: opts?.netns, signal: opts?.signal });
    },
    async remove(dst, dev, opts) {
      const r = await run(['ip', 'route', 'del', dst, 'dev', dev, 'proto', String(ROUTE_PROTO)], {
        netns: opts?.netns,
        signal: opts?.signal,
        allowFail: true,
      });
      if (r.exitCode !== 0 && !/No such process|Cannot find device/.test(r.stderr)) {
        throw new Error(`cannot delete route ${dst} dev ${dev}: ${r.stderr.trim()}`);
      }
    },
    async batch(script, opts) {
      if (script === '') return { ok: true, errors: '' };
      const r = await run(['ip', '-force', '-batch', '-'], { netns: opts?.netns, signal: opts?.signal, input: script, allowFail: true });
      return { ok: r.exitCode === 0, errors: r.exitCode === 0 ? '' : r.stderr.trim() || `ip -batch exited ${r.exitCode}` };
    },
    async addressUp(dev, cidr, opts) {
      await run(['ip', 'address', 'replace', cidr, 'dev', dev], { netns: opts?.netns, signal: opts?.signal });
      await run(['ip', 'link', 'set', 'dev', dev, 'up'], { netns: opts?.netns, signal: opts?.signal });
    },
  };
}
