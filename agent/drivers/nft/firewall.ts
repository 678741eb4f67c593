// The vehicle's own firewall: an nftables table of its own (inet roamlink_fw), applied whole as one `nft -f` script.
//
//   LAN ──────▶ tunnel      accepted (sources in the LAN's subnet only)
//   tunnel ───▶ LAN         accepted
//   LAN ──────▶ uplinks     dropped, unless lan.direct_internet (then masqueraded, and its replies let back)
//   uplinks ──▶ LAN/tunnel  dropped (forward policy drop)
//   uplinks: a LAN or tunnel source, or the LAN or the tunnel address as destination: dropped before routing
//
// Separate from the steering table (`ip roamlink`, steer.ts), which it never touches. Applying is level-triggered:
// the script creates the table if it is missing, deletes it and writes it whole, in one transaction, so a packet
// sees either the old rules or the new ones, never none (a restart re-applies it over the one the last process left).
import type { Runner } from '../../../shared/exec.js';
import { nftApply, nftRemoveScript, nftTableScript, type NftTable } from '../../../shared/nft.js';
import { formatIPv4, lastOf, networkOf, parseCidr, parseIPv4, type Cidr } from '../../../concentrator/cidr.js';

export const FW_TABLE = 'roamlink_fw';
const TABLE: NftTable = { family: 'inet', name: FW_TABLE };

export interface FirewallSpec {
  /** The vehicle LAN (cameras, phones), or null when the vehicle has none. */
  lan: { interface: string; subnet: string } | null;
  /** The WireGuard interface, this vehicle's tunnel address, the concentrator's, and the networks behind HQ. */
  tunnel: { interface: string; address: string; peer: string; routes: readonly string[] };
  /** Every uplink interface (Wi-Fi radios, the modem's). */
  uplinks: readonly string[];
  /** LAN hosts may reach the internet straight out of an uplink, masqueraded (config lan.direct_internet). */
  lanToInternet: boolean;
}

const q = (s: string) => `"${s}"`;

/**
 * Addresses and prefixes as nft set elements: host bits cleared, and any one inside another left out (nft refuses
 * overlapping intervals in a set, e.g. the tunnel address within a routed tunnel network).
 */
export function setElements(xs: readonly string[]): string[] {
  const cidrs: Cidr[] = [];
  for (const x of xs) {
    const c = parseCidr(x) ?? (parseIPv4(x) !== null ? { addr: parseIPv4(x)!, prefix: 32 } : null);
    if (!c) throw new Error(`not an IPv4 address or prefix: "${x}"`);
    cidrs.push({ addr: networkOf(c), prefix: c.prefix });
  }
  const kept = cidrs.filter((c, i) => !cidrs.some((o, j) => j !== i && networkOf(o) <= c.addr && lastOf(c) <= lastOf(o) && (o.prefix < c.prefix || j < i)));
  return kept.map((c) => (c.prefix === 32 ? formatIPv4(c.addr) : `${formatIPv4(c.addr)}/${c.prefix}`));
}
const set = (xs: readonly string[]) => `{ ${xs.join(', ')} }`;

/** The whole table, created anew in one transaction (idempotent: the same spec gives the same ruleset). */
export function firewallScript(s: FirewallSpec): string {
  const lan = s.lan;
  const lanNet = lan ? setElements([lan.subnet])[0]! : undefined;
  const spoofed = setElements([...(lanNet ? [lanNet] : []), s.tunnel.address, s.tunnel.peer, ...s.tunnel.routes]);
  const inside = setElements([...(lanNet ? [lanNet] : []), s.tunnel.address]);
  const wg = q(s.tunnel.interface);
  return nftTableScript(TABLE, [
    '  set uplinks {',
    '    type ifname',
    ...(s.uplinks.length ? [`    elements = ${set(s.uplinks.map(q))}`] : []),
    '  }',
    '  chain prerouting {',
    '    type filter hook prerouting priority raw; policy accept;',
    '    # An uplink never carries a LAN or tunnel source, nor anything for the LAN or the tunnel address.',
    `    iifname @uplinks ip saddr ${set(spoofed)} counter drop comment "spoofed source"`,
    `    iifname @uplinks ip daddr ${set(inside)} counter drop comment "uplink to inside"`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    ...(lan ? [
      `    iifname ${q(lan.interface)} oifname ${wg} ip saddr ${lanNet} accept`,
      `    iifname ${wg} oifname ${q(lan.interface)} accept`,
    ] : []),
    ...(lan && s.lanToInternet ? [
      `    iifname ${q(lan.interface)} oifname @uplinks ip saddr ${lanNet} accept`,
      `    iifname @uplinks oifname ${q(lan.interface)} ct state established,related accept`,
    ] : []),
    '    counter comment "denied"',
    '  }',
    ...(lan && s.lanToInternet ? [
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      `    oifname @uplinks ip saddr ${lanNet} masquerade`,
      '  }',
    ] : []),
  ]);
}

export interface FirewallDriver {
  /** Writes the table whole; may be called repeatedly (at every start), with the same or a new spec. */
  apply(s: FirewallSpec, signal?: AbortSignal): Promise<void>;
  /** Deletes the table (a stop for good); a missing table is fine. */
  remove(signal?: AbortSignal): Promise<void>;
}

export function createFirewallDriver(netns?: string, run?: Runner): FirewallDriver {
  const at = { ...(run ? { run } : {}), ...(netns ? { netns } : {}) };
  return {
    async apply(s, signal) {
      await nftApply(firewallScript(s), { ...at, ...(signal ? { signal } : {}) });
    },
    async remove(signal) {
      await nftApply(nftRemoveScript(TABLE), { ...at, ...(signal ? { signal } : {}), allowFail: true });
    },
  };
}
