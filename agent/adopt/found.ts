// Reads the data plane a new agent process finds (wg dump, nft -j, ip -j, wpa_supplicant's STATUS): the facts that
// adopt.plan.ts turns into what to keep. Reads only; every read that fails counts as "nothing there".
import type { Ip } from '../../shared/ip.js';
import type { WgDriver } from '../../shared/wg.js';
import type { RadioDriver } from '../drivers/radio.js';
import type { SteerDriver } from '../drivers/nft/steer.js';
import { uplinkTable } from '../drivers/routing/uplink.routing.js';
import type { FoundDataPlane, FoundUplink } from './adopt.plan.js';

export interface FoundDeps {
  ip: Ip;
  wg: WgDriver;
  steer: SteerDriver;
  radio: (ifname: string) => RadioDriver | null;
  /** Bounds every read (start-up, outside any machine). */
  signal: AbortSignal;
}

export async function readFound(wgIf: string, uplinks: ReadonlyArray<{ name: string; slot: number }>, d: FoundDeps): Promise<FoundDataPlane> {
  const [wg, steer, links] = await Promise.all([
    d.wg.show(wgIf, { signal: d.signal }).then(
      (s) => ({ fwmark: s.interface.fwmark, peers: s.peers.map((p) => ({ publicKey: p.publicKey, endpoint: p.endpoint, allowedIps: p.allowedIps })) }),
      () => null,
    ),
    d.steer.read(d.signal).catch(() => null),
    d.ip.links().catch(() => []),
  ]);
  const out: Record<string, FoundUplink> = {};
  for (const u of uplinks) {
    const routes = await d.ip.routes(uplinkTable(u)).catch(() => []);
    const def = routes.find((r) => r.dst === 'default');
    const radio = d.radio(u.name);
    const status = radio ? await radio.status(d.signal).catch(() => null) : null;
    out[u.name] = {
      addrs: links.find((l) => l.ifname === u.name)?.addrs ?? [],
      tableDefault: def ? { gateway: def.gateway, dev: def.dev, prefsrc: def.prefsrc } : null,
      radio: status ? { state: status.state, ssid: status.ssid, bssid: status.bssid } : null,
    };
  }
  return { wg, steer, uplinks: out };
}
