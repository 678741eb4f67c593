// The host's part of an agent start: the firewall before forwarding, forwarding on, no reverse-path filter, run_dir.
import { mkdir, writeFile } from 'node:fs/promises';
import type { AgentConfig } from '../../shared/config/agent.js';
import { createFirewallDriver, type FirewallSpec } from '../drivers/nft/firewall.js';

/** The firewall's spec from the config: the LAN, the tunnel's addresses and routes, every uplink (pure). */
export function firewallSpec(cfg: AgentConfig): FirewallSpec {
  return {
    lan: cfg.lan ? { interface: cfg.lan.interface, subnet: cfg.lan.subnet } : null,
    tunnel: { interface: cfg.wireguard.interface, address: cfg.wireguard.address, peer: cfg.concentrator.tunnel_address, routes: cfg.concentrator.routes },
    uplinks: cfg.uplinks.map((u) => u.name),
    lanToInternet: cfg.lan?.direct_internet ?? false,
  };
}

async function sysctl(path: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv4/${path}`, value).catch(() => {});
}

/** The firewall first (the LAN talks to the tunnel, nothing from an uplink gets in), then forwarding for the LAN;
 *  no reverse-path filter: replies arrive on whichever uplink carries the tunnel. Idempotent (a restart re-applies). */
export async function prepareHost(cfg: AgentConfig): Promise<void> {
  await createFirewallDriver().apply(firewallSpec(cfg));
  await sysctl('ip_forward', '1');
  await sysctl('conf/all/rp_filter', '0');
  for (const u of cfg.uplinks) await sysctl(`conf/${u.name}/rp_filter`, '0');
  await mkdir(cfg.run_dir, { recursive: true, mode: 0o750 });
}
