// Steering the tunnel's outer packets onto one uplink: an nftables table of our own, replaced in one transaction.
//
// Why a `type route` output chain (design.md §3): wireguard-go answers from the address and interface where the
// peer's last packet arrived (sticky sockets), so replacing a route does not move it. Re-marking the outer packets
// in a route chain forces the kernel to route them again (that re-route ignores the sticky interface), and a
// stateless source rewrite gives them the new uplink's address. The kernel module's outer packets pass the same
// hook, so one mechanism serves both implementations.
import { run as defaultRun, type Runner } from '../../../shared/exec.js';

export const NFT_TABLE = 'roamlink';

export interface SteerTarget {
  /** Mark that selects the uplink's routing table. */
  mark: number;
  /** The uplink's own address: the outer packets' new source. */
  address: string;
}

export interface SteerSpec {
  /** The mark WireGuard gives its outer packets. */
  wgMark: number;
  /** The concentrator's outer address and port. */
  endpoint: { address: string; port: number };
  /** null: no uplink carries the tunnel (packets follow WireGuard's own routing). */
  target: SteerTarget | null;
}

const hex = (n: number) => `0x${n.toString(16)}`;

function steerRule(s: SteerSpec): string | null {
  if (!s.target) return null;
  return `meta mark ${hex(s.wgMark)} ip daddr ${s.endpoint.address} udp dport ${s.endpoint.port} ` +
    `meta mark set ${hex(s.target.mark)} ip saddr set ${s.target.address}`;
}

/** The whole table, created anew: used once at start (the delete makes it idempotent). */
export function steerTableScript(s: SteerSpec): string {
  const rule = steerRule(s);
  return [
    `table ip ${NFT_TABLE}`,
    `delete table ip ${NFT_TABLE}`,
    `table ip ${NFT_TABLE} {`,
    '  chain steer {',
    '    type route hook output priority mangle; policy accept;',
    ...(rule ? [`    ${rule}`] : []),
    '  }',
    '}',
  ].join('\n') + '\n';
}

/** A switch: the chain's one rule replaced atomically (flush and add in one transaction). */
export function steerSwitchScript(s: SteerSpec): string {
  const rule = steerRule(s);
  return [`flush chain ip ${NFT_TABLE} steer`, ...(rule ? [`add rule ip ${NFT_TABLE} steer ${rule}`] : [])].join('\n') + '\n';
}

export interface SteerDriver {
  /** Creates (or re-creates) the table with this steering. */
  init(s: SteerSpec, signal?: AbortSignal): Promise<void>;
  /** Moves the outer packets; may be called repeatedly with the same spec. */
  steer(s: SteerSpec, signal?: AbortSignal): Promise<void>;
  remove(signal?: AbortSignal): Promise<void>;
}

export function createSteerDriver(netns?: string, run: Runner = defaultRun): SteerDriver {
  const nft = (script: string, signal?: AbortSignal, allowFail = false) =>
    run(['nft', '-f', '-'], { netns, input: script, signal, allowFail });
  return {
    async init(s, signal) {
      await nft(steerTableScript(s), signal);
    },
    async steer(s, signal) {
      await nft(steerSwitchScript(s), signal);
    },
    async remove(signal) {
      await nft(`table ip ${NFT_TABLE}\ndelete table ip ${NFT_TABLE}\n`, signal, true);
    },
  };
}
