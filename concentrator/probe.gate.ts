// Whether the probe echo answers a probe (issue 14): with two HQs, only the machine that holds HQ's LAN gateway (VRRP's
// address) answers the agents, so an agent moves its tunnel only to the HQ that carries HQ's LAN. Pure but for `read`.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/** True when one of the machine's interfaces holds IPv4 `address` (keepalived adds VRRP's address to the master's). */
export function holdsAddress(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>, address: string): boolean {
  return Object.values(ifaces).some((list) => list?.some((a) => a.family === 'IPv4' && a.address === address) ?? false);
}

/** 127.0.0.0/8: the machine's own asks (the daemon's readiness check of its echo), answered whatever VRRP says. */
const isLoopback = (source: string) => /^127\./.test(source) || source === '::1' || source === '::ffff:127.0.0.1';

export interface ProbeGateOptions {
  /** The address whose holder answers (hq.yaml's `vrrp_address`); absent: every probe is answered (one HQ). */
  holding?: string;
  /** The interfaces' addresses (os.networkInterfaces). */
  read?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Monotonic ms, and how long one look at the interfaces stands (a probe storm costs one look per period). */
  now?: () => number;
  cacheMs?: number;
}

/** answers(source): whether a probe from `source` gets its echo. */
export function probeGate(o: ProbeGateOptions = {}): (source: string) => boolean {
  const { holding } = o;
  if (holding === undefined) return () => true;
  const read = o.read ?? networkInterfaces;
  const now = o.now ?? (() => performance.now());
  const cacheMs = o.cacheMs ?? 50;
  let looked: { at: number; holds: boolean } | null = null;
  return (source) => {
    if (isLoopback(source)) return true;
    const t = now();
    if (!looked || t - looked.at >= cacheMs) looked = { at: t, holds: holdsAddress(read(), holding) };
    return looked.holds;
  };
}
