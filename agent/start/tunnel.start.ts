// The tunnel's start and its stop for good: adopt what a previous agent process left (adopt.plan.ts), make the rest,
// and roll back a half-done `up` of a fresh start (as wg-quick does); `down` removes every part of the data plane.
import type { AgentConfig } from '../../shared/config/agent.js';
import { Ip } from '../../shared/ip.js';
import type { Logger } from '../../shared/log.js';
import { readSecretFile } from '../../shared/secret-file.js';
import { start } from '../../shared/exec.js';
import { assertWgKey, createWg, type WgDriver } from '../../shared/wg.js';
import { createSteerDriver, type SteerDriver } from '../drivers/nft/steer.js';
import { createRoutingDriver } from '../drivers/routing/uplink.routing.js';
import { planAdoption, type AdoptPlan, type DesiredDataPlane } from '../adopt/adopt.plan.js';
import { readFound } from '../adopt/found.js';
import { createFirewallDriver } from '../drivers/nft/firewall.js';
import type { RadioDriver } from '../drivers/radio.js';
import { TUNNEL_TABLE, uplinkTable, type RoutingDriver } from '../drivers/routing/uplink.routing.js';
import { stopStaleClient, udhcpcPidfile } from '../drivers/dhcp/udhcpc.js';

export interface TunnelDeps {
  ip: Ip;
  wg: WgDriver;
  steer: SteerDriver;
  routing: RoutingDriver;
  radio: (ifname: string) => RadioDriver | null;
  log: Logger;
}

/** Refuses a private key file others can read, then reads it (the key itself is never logged). */
export async function readPrivateKey(path: string, field: string): Promise<string> {
  return assertWgKey(await readSecretFile(path, field), field, false);
}

/** The drivers the tunnel's start and its stop for good use (also `roamlink agent down`, with no agent running). */
export function createTunnelDeps(cfg: AgentConfig, log: Logger, radio: (ifname: string) => RadioDriver | null = () => null): TunnelDeps {
  const ip = new Ip();
  // Under systemd (INVOCATION_ID is set for a unit's processes), wireguard-go runs in a scope of its own: a restart of
  // the agent's unit kills the unit's whole cgroup, and the tunnel must outlive the daemon (docs/operator-guide.md).
  // Unprivileged (the unit's User=), it cannot ask systemd for a scope: the unit's ExecStartPre=+ (`roamlink agent
  // tunnel-device`) made the interface in one as root, and this process adopts it.
  const wg = createWg(undefined, { ownScope: !!process.env.INVOCATION_ID && process.getuid?.() === 0 });
  return { ip, wg, steer: createSteerDriver(undefined, undefined, start), routing: createRoutingDriver(ip, cfg.wireguard.fwmark), radio, log };
}

export interface TunnelPeer {
  publicKey: string;
  allowedIps: string[];
  endpoint: string;
  keepalive: number;
}

/** The tunnel as the config wants it (pure). */
export function desiredOf(cfg: AgentConfig): { want: DesiredDataPlane; peer: TunnelPeer } {
  const [address, port] = cfg.concentrator.endpoint.split(':') as [string, string];
  const peer = {
    publicKey: cfg.concentrator.public_key,
    allowedIps: [`${cfg.concentrator.tunnel_address}/32`, ...cfg.concentrator.routes],
    endpoint: cfg.concentrator.endpoint,
    keepalive: cfg.wireguard.keepalive,
  };
  return {
    peer,
    want: {
      wgMark: cfg.wireguard.fwmark, endpoint: { address, port: Number(port) }, peer,
      uplinks: cfg.uplinks.map((u, i) => ({ name: u.name, slot: i + 1, kind: u.kind })),
    },
  };
}

/**
 * Brings the tunnel up, adopting what is there. Resolves with the adoption plan (which uplink carries the tunnel, the
 * leases and APs found). A fresh start that fails half way removes what it made; an adopted tunnel is never torn down
 * by a failed start (it carries traffic; the next start adopts it again).
 */
export async function startTunnel(cfg: AgentConfig, privateKey: string, d: TunnelDeps): Promise<AdoptPlan> {
  const wgIf = cfg.wireguard.interface;
  const { want, peer } = desiredOf(cfg);
  const found = await readFound(wgIf, want.uplinks, { ip: d.ip, wg: d.wg, steer: d.steer, radio: d.radio, signal: AbortSignal.timeout(5000) });
  const plan = planAdoption(found, want);
  for (const n of plan.notes) d.log.info({ event: 'agent.adopt' }, `adopt: ${n}`);
  const made: Array<'steer' | 'wg'> = [];
  try {
    for (const a of plan.actions) {
      if (a.do === 'steer.init') {
        await d.steer.init({ wgMark: want.wgMark, endpoint: want.endpoint, target: a.target });
        if (!found.steer) made.push('steer');
      } else if (a.do === 'steer.set') {
        await d.steer.steer({ wgMark: want.wgMark, endpoint: want.endpoint, target: a.target });
      }
    }
    await d.routing.init();
    const created = await d.wg.createInterface(wgIf, { implementation: cfg.wireguard.implementation });
    if (created.created) made.push('wg');
    d.log.info({ event: 'tunnel.interface', interface: wgIf, implementation: created.implementation, adopted: !created.created }, `tunnel interface ${created.created ? 'ready' : 'found: adopted'}`);
    // Each of these leaves a running interface as it is when given the values it already has.
    await d.wg.setPrivateKey(wgIf, privateKey);
    if (cfg.wireguard.listen_port) await d.wg.setListenPort(wgIf, cfg.wireguard.listen_port);
    await d.wg.setFwmark(wgIf, want.wgMark);
    for (const a of plan.actions) {
      if (a.do === 'peer.remove') await d.wg.removePeer(wgIf, a.publicKey);
      else if (a.do === 'peer.set') await d.wg.setPeer(wgIf, peer);
    }
    await d.ip.addrReplace(wgIf, `${cfg.wireguard.address}/32`);
    await d.ip.setUp(wgIf);
    for (const dst of peer.allowedIps) await d.ip.routeReplace({ dst, dev: wgIf, src: cfg.wireguard.address });
  } catch (err) {
    // Roll back what this start made (nothing it adopted).
    if (made.includes('wg')) await d.wg.deleteInterface(wgIf).catch(() => {});
    if (made.includes('steer')) await d.steer.remove().catch(() => {});
    throw err;
  }
  return plan;
}

/**
 * The stop for good (`roamlink agent down`, systemctl stop): the steering table, the firewall table, the tunnel interface (and its
 * wireguard-go), every uplink's address, routes and rules, the tunnel's rule and table, DHCP clients a killed agent
 * left. Idempotent; reads what is there, so it works without the process that made it.
 */
export async function downDataPlane(cfg: AgentConfig, d: TunnelDeps): Promise<string[]> {
  const wgIf = cfg.wireguard.interface;
  const { want } = desiredOf(cfg);
  const found = await readFound(wgIf, want.uplinks, { ip: d.ip, wg: d.wg, steer: d.steer, radio: () => null, signal: AbortSignal.timeout(5000) });
  const plan = planAdoption(found, want);
  const did: string[] = [];
  for (const u of want.uplinks) {
    if (await stopStaleClient(udhcpcPidfile(cfg.run_dir, u.name), u.name)) did.push(`stopped ${u.name}'s DHCP client`);
  }
  if (found.steer) did.push('removed the steering table');
  await d.steer.remove();
  await createFirewallDriver().remove();
  if (found.wg) did.push(`deleted ${wgIf}`);
  await d.wg.deleteInterface(wgIf);
  for (const u of want.uplinks) {
    const lease = plan.uplinks[u.name]?.lease ?? undefined;
    await d.routing.clear(u, lease);
    if (lease) did.push(`cleared ${u.name} (${lease.address})`);
  }
  await d.routing.down();
  // Rules into our tables that no lease accounts for (an address gone meanwhile): by what the kernel lists.
  const tables = new Set([TUNNEL_TABLE, ...want.uplinks.map((u) => uplinkTable(u))].map(String));
  for (const r of await d.ip.rules().catch(() => [])) {
    if (!tables.has(String(r.table))) continue;
    await d.ip.ruleDel({ priority: r.priority, table: r.table, ...(r.src ? { from: `${r.src}/${r.srclen ?? 32}` } : {}), ...(r.fwmark ? { fwmark: Number(r.fwmark) } : {}) });
    did.push(`removed rule ${r.priority}`);
  }
  return did;
}
