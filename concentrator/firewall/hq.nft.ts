// HQ's own nftables table (wg-quick style: one `nft -f` script, removed by deleting the table): what vehicles may reach
// through the tunnel. Vehicle → HQ LAN as configured, vehicle ↔ vehicle dropped unless configured, and on HQ itself only
// the agents' API, the probe echo and ping: the admin listener is unreachable through the tunnel. Deny by default.
// The enrollment listener's port (enroll_listen) only from the networks the operator lists, and through the tunnel only
// when asked.
import type { Runner } from '../../shared/exec.js';
import { nftApply, nftRemoveScript, nftTableScript, type NftTable } from '../../shared/nft.js';
import { isLoopbackHost, type HqConfig } from '../../shared/config/hq.js';

export const HQ_NFT_TABLE = 'roamlink_hq';
const TABLE: NftTable = { family: 'inet', name: HQ_NFT_TABLE };

export interface HqFirewallSpec {
  /** The WireGuard interface the vehicles arrive on. */
  ifname: string;
  tunnelAddress: string;
  agentApiPort: number;
  probePort: number;
  /** Networks vehicles may open connections to through HQ (default: lan_subnets). */
  vehicleTo: readonly string[];
  /** Whether one vehicle may reach another's tunnel address or LAN. */
  vehicleToVehicle: boolean;
  /** enroll_listen's TCP port: from these networks (not the tunnel), and from the tunnel too when `throughTunnel`;
   *  null when there is no listener, or one on loopback (nothing outside reaches it). */
  enroll?: { port: number; from: readonly string[]; throughTunnel: boolean } | null;
}

/** HQ's config to the table's spec (pure). */
export function hqFirewallSpec(cfg: Pick<HqConfig, 'interface' | 'tunnel_address' | 'agent_api_port' | 'probe_port' | 'lan_subnets' | 'firewall' | 'enroll_listen'>): HqFirewallSpec {
  const f = cfg.firewall;
  const listen = cfg.enroll_listen;
  const host = listen?.slice(0, listen.lastIndexOf(':'));
  const enroll = listen && !isLoopbackHost(host!) ? { port: Number(listen.slice(listen.lastIndexOf(':') + 1)), from: f.enroll_from ?? [], throughTunnel: f.enroll_through_tunnel } : null;
  return { ifname: cfg.interface, tunnelAddress: cfg.tunnel_address, agentApiPort: cfg.agent_api_port, probePort: cfg.probe_port, vehicleTo: f.vehicle_to ?? cfg.lan_subnets, vehicleToVehicle: f.vehicle_to_vehicle, enroll };
}

/** The whole table, created anew in one transaction (the leading delete makes it idempotent). Pure. */
export function hqFirewallScript(s: HqFirewallSpec): string {
  const iif = JSON.stringify(s.ifname);
  const e = s.enroll ?? null;
  return nftTableScript(TABLE, [
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    iifname ${iif} jump from_vehicles`,
    ...(e ? [`    tcp dport ${e.port} jump enroll`] : []),
    '  }',
    '  chain from_vehicles {',
    '    ct state established,related accept',
    `    ip daddr ${s.tunnelAddress} tcp dport ${s.agentApiPort} accept`,
    `    ip daddr ${s.tunnelAddress} udp dport ${s.probePort} accept`,
    '    icmp type echo-request accept',
    ...(e?.throughTunnel ? [`    tcp dport ${e.port} accept comment "enrollment through the tunnel (firewall.enroll_through_tunnel)"`] : []),
    '    counter drop comment "vehicle to HQ itself: only the agents\' API, probes and ping"',
    '  }',
    ...(e ? [
      '  chain enroll {',
      '    iif "lo" accept',
      ...(e.from.length ? [`    ip saddr { ${e.from.join(', ')} } accept`] : []),
      '    counter drop comment "enrollment from a network not in firewall.enroll_from"',
      '  }',
    ] : []),
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    iifname ${iif} jump vehicle_out`,
    '  }',
    '  chain vehicle_out {',
    '    ct state established,related accept',
    s.vehicleToVehicle ? `    oifname ${iif} accept` : `    oifname ${iif} counter drop comment "vehicle to vehicle"`,
    ...(s.vehicleTo.length ? [`    ip daddr { ${s.vehicleTo.join(', ')} } accept`] : []),
    '    counter drop comment "vehicle to anywhere not configured"',
    '  }',
  ]);
}

export function hqFirewallRemoveScript(): string {
  return nftRemoveScript(TABLE);
}

/** Applies the table (atomically: nft runs a script as one transaction). Throws naming nft's complaint. */
export async function applyHqFirewall(s: HqFirewallSpec, opts: { run?: Runner; netns?: string } = {}): Promise<void> {
  const r = await nftApply(hqFirewallScript(s), { ...opts, allowFail: true }).catch((err: Error) => ({ exitCode: -1, stderr: err.message }));
  if (r.exitCode !== 0) throw new Error(`firewall: nft refused HQ's table (${r.stderr.trim() || `exit ${r.exitCode}`}); install nftables, or set firewall.enabled: false`);
}
