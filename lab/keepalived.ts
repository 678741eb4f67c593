// VRRP for HQ's LAN gateway under two HQs: keepalived's config (pure) and its command line, as the lab runs it in each
// HQ machine's namespace. deploy/examples/keepalived.conf is the same instance for a real HQ (docs/operator-guide.md).
import { join } from 'node:path';

export interface VrrpPeer {
  /** The machine's name (keepalived's router_id). */
  name: string;
  /** The LAN interface the gateway address lives on, and the WAN interface whose loss gives the address up. */
  lanIf: string;
  wanIf: string;
  /** This machine's own LAN address and the other HQ's (adverts go unicast between them). */
  own: string;
  peer: string;
  /** The gateway address with its prefix, e.g. 10.0.0.1/24. */
  vip: string;
  /** Higher wins an election; neither preempts, so a machine back from a power-off does not take the address back. */
  priority: number;
}

/**
 * One VRRP instance (version 3, adverts every 100 ms: the backup takes the address about 0.35 s after the last advert),
 * both sides BACKUP with nopreempt (the tunnels stay where the gateway is: a returning HQ does not pull the LAN away from
 * the HQ the vehicles moved to), the WAN tracked (an HQ cut off from the internet gives the gateway up).
 */
export function keepalivedConf(p: VrrpPeer): string {
  return [
    'global_defs {',
    `  router_id ${p.name}`,
    '  vrrp_version 3',
    '  vrrp_garp_master_repeat 3',
    '  vrrp_garp_master_refresh 1',
    '}',
    'vrrp_instance roamlink_lan {',
    '  state BACKUP',
    '  nopreempt',
    `  interface ${p.lanIf}`,
    '  virtual_router_id 51',
    `  priority ${p.priority}`,
    '  advert_int 0.1',
    `  unicast_src_ip ${p.own}`,
    `  unicast_peer {\n    ${p.peer}\n  }`,
    `  track_interface {\n    ${p.wanIf}\n  }`,
    `  virtual_ipaddress {\n    ${p.vip} dev ${p.lanIf}\n  }`,
    '}',
  ].join('\n') + '\n';
}

/** keepalived in the foreground, VRRP only, logging to stderr, its pid files in `dir` (one set per machine). */
export function keepalivedArgv(conf: string, dir: string): string[] {
  return ['keepalived', '--dont-fork', '--log-console', '--vrrp', '--use-file', conf, '--pid', join(dir, 'keepalived.pid'), '--vrrp_pid', join(dir, 'keepalived-vrrp.pid')];
}
