// The lab's network: namespaces, veth pairs, bridges, NAT and DHCP standing in for a vehicle, its radios, APs, a carrier and HQ.
//
//   cam ─lan0── veh ──wlan0───┐            ┌─ br0 ─ ap0 (NAT, dnsmasq) ─┐
//  (camera)    (agent)─wlan1──┼── air ─────┼─ br1 ─ ap1 (NAT, dnsmasq) ─┼── net (br0, "internet") ── hq ─lan0── disp
//                      └wwan0─┼── lte (CGNAT, dnsmasq) ─────────────────┘      (concentrator)      (dispatcher)
//                                  │           └─ br0 ─ iap (intruder on AP 0's network, addIntruders())
//                                  └─ ilte (intruder on the carrier's network, addIntruders())
//
// Two HQs (scenario `hq.replicas: 2`, issue 14): `hq` (hq-a, WAN .2) and `hqb` (hq-b, WAN .3), both on the internet
// segment, their `lan0` ports on a bridge in `disp`; HQ's LAN gateway (10.0.0.1) is VRRP's virtual address, held by
// whichever keepalived is master (hq-a 10.0.0.2, hq-b 10.0.0.3 of their own).
//
// An AP's or the carrier's link may be emulated (delay, jitter, loss, rate: lab/link/): then the AP's port `a<i>`
// sits on a bridge `lb<i>` of its own, joined to `br<i>` through the link; the carrier's `ran0` (the far end of the
// modem's wire) on a bridge `ranb`, joined to the router's side, the bridge `ranr`, which then holds its address.
// The links' relays run in `lnk`, reached from `air` and `lte` over a segment each (`ul0`, 10.255.1.0/24, .2.0/24).
//
// A radio is "associated" when its peer port in `air` is enslaved to that AP's bridge and up; no AP, no carrier.
// Every namespace is named `<id>-<role>` with the owner's pid in <id>, so stale ones can be swept.
import { readFile, rm } from 'node:fs/promises';
import { CommandError, run } from '../shared/exec.js';
import { ProcGroup } from './procs.js';
import { LabLink, type Underlay } from './link/link.js';

export interface LabAp {
  ssid: string;
  bssid: string;
}

export const PLAN = {
  hqWan: '198.51.100.2',
  /** The second HQ (hq-b) and each HQ's own LAN address under two HQs (the gateway then floats between them). */
  hqbWan: '198.51.100.3',
  hqLanOwn: ['10.0.0.2', '10.0.0.3'] as const,
  netRouter: '198.51.100.1',
  lteWan: '198.51.100.30',
  apWan: (i: number) => `198.51.100.${10 + i}`,
  apNet: (i: number) => `192.168.${10 + i}`,
  lteNet: '100.64.0',
  hqLan: '10.0.0.0/24',
  hqLanGw: '10.0.0.1',
  dispatcher: '10.0.0.10',
  vehLan: '10.20.1.0/24',
  vehLanGw: '10.20.1.1',
  camera: '10.20.1.10',
  tunnelNet: '10.99.0.0/24',
  wgPort: 51820,
  radios: ['wlan0', 'wlan1'] as const,
  modem: 'wwan0' as const,
};

export type UplinkName = 'wlan0' | 'wlan1' | 'wwan0';

/** Which links run through the emulator (the others are plain wires): each AP's by index, the carrier's. */
export interface LinkPlan {
  aps: boolean[];
  lte: boolean;
}

/** The intruders' own addresses, and the inside addresses they forge (a LAN host that is not the camera, HQ's tunnel address). */
export const INTRUDER = {
  ap: '192.168.10.250',
  lteGw: '100.64.1.1',
  lte: '100.64.1.2',
  spoofLan: '10.20.1.77',
  spoofTunnel: '10.99.0.1',
};

let labCounter = 0;

/** Removes what earlier runs left behind: namespaces whose owner process is gone (names `rl<pid><letter>-…`). */
export async function sweepStale(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { allowFail: true });
  const swept: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const name = line.split(' ')[0];
    const m = name ? /^rl(\d+)[a-z]-/.exec(name) : null;
    if (!m || !name) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (alive) continue;
    await killNetnsPids(name);
    await run(['ip', 'netns', 'del', name], { allowFail: true });
    swept.push(name);
  }
  return swept;
}

/** Stops every process in the namespaces (SIGTERM; SIGKILL to those still there after 200 ms). */
export async function killNetnsPids(...namespaces: string[]): Promise<void> {
  if (!namespaces.length) return;
  // One `ip` for all of them: their pids, one namespace's after another (which is whose does not matter here).
  const r = await run(['ip', '-force', '-batch', '-'], { input: namespaces.map((n) => `netns pids ${n}\n`).join(''), allowFail: true });
  const pids = r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p > 0);
  const signal = (sig: NodeJS.Signals, to = pids) => to.filter((pid) => {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false; // gone
    }
  });
  const termed = signal('SIGTERM');
  if (!termed.length) return;
  // Waited for by polling (they are not our children: wireguard-go and the probe echo detach), at most 200 ms. One
  // that exited is a zombie until init reaps it, and a zombie still takes signal 0: so it is read from /proc.
  let left = termed;
  for (let i = 0; i < 20 && left.length; i++) {
    await new Promise((res) => setTimeout(res, 10));
    left = (await Promise.all(left.map(async (pid) => ((await isRunning(pid)) ? [pid] : [])))).flat();
  }
  signal('SIGKILL', left);
}

/** Whether a process exists and has not exited: a zombie (state Z, awaiting its parent's wait) has. */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // pid (comm) state ...: comm may hold spaces and parentheses, so the state follows the last ')'.
  return stat !== null && !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
}

export class Topology {
  readonly id: string;
  readonly ns: { veh: string; cam: string; air: string; net: string; lte: string; hq: string; hqb: string; disp: string; ap: string[]; lnk: string };
  /** WireGuard interface names, unique machine-wide (wireguard-go's control sockets are global); hqb's only with two HQs. */
  readonly wg: { veh: string; hq: string; hqb: string };
  readonly procs = new ProcGroup();
  private readonly created: string[] = [];
  private associated = new Map<string, number | null>();
  private blackholed = new Set<UplinkName>();
  private tornDown: Promise<void> | undefined;
  private building: Promise<void> | undefined;
  /** The emulated links, by what they serve: `aps[0]`, `lte`. */
  readonly links = new Map<string, LabLink>();
  /** The carrier's router-side device: its address, DHCP and NAT. */
  readonly lteRouter: string;

  constructor(
    readonly aps: LabAp[],
    readonly runDir: string,
    readonly linkPlan: LinkPlan = { aps: [], lte: false },
    /** HQ machines: 1, or 2 (hq and hqb, a bridged LAN with a VRRP gateway). */
    readonly hqReplicas: 1 | 2 = 1,
  ) {
    const letter = String.fromCharCode(97 + (labCounter++ % 26));
    this.id = `rl${process.pid}${letter}`;
    const n = (role: string) => `${this.id}-${role}`;
    this.ns = { veh: n('veh'), cam: n('cam'), air: n('air'), net: n('net'), lte: n('lte'), hq: n('hq'), hqb: n('hqb'), disp: n('disp'), ap: aps.map((_, i) => n(`ap${i}`)), lnk: n('lnk') };
    this.wg = { veh: `${this.id}v`, hq: `${this.id}h`, hqb: `${this.id}i` };
    this.lteRouter = linkPlan.lte ? 'ranr' : 'ran0';
  }

  private ipn(ns: string, ...args: string[]) {
    return run(['ip', '-n', ns, ...args]);
  }

  private async sysctl(ns: string, ...kv: string[]) {
    await run(['sysctl', '-q', '-w', ...kv], { netns: ns });
  }

  private async nft(ns: string, script: string) {
    await run(['nft', '-f', '-'], { netns: ns, input: script });
  }

  private async veth(a: End, b: End) {
    await ipBatch(null, [vethLine(a, b)]);
    await Promise.all([a, b].map(txChecksumsInSoftware));
  }

  private async addr(ns: string, dev: string, cidr: string) {
    await this.ipn(ns, 'addr', 'add', cidr, 'dev', dev);
    await this.ipn(ns, 'link', 'set', 'dev', dev, 'up');
  }

  private dhcp(ns: string, dev: string, net: string, lo: number, hi: number, gw: string) {
    this.procs.start(`dnsmasq-${ns}`, [
      'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', '--no-ping', '--no-resolv',
      `--interface=${dev}`, '--bind-interfaces', `--dhcp-range=${net}.${lo},${net}.${hi},1h`,
      `--dhcp-option=3,${gw}`, `--dhcp-leasefile=${this.runDir}/${ns}.leases`, `--pid-file=${this.runDir}/${ns}.pid`,
    ], { netns: ns });
  }

  up(): Promise<void> {
    this.building = this.build();
    return this.building;
  }

  /**
   * The network in a few commands (an `ip -batch` per namespace, one nft script and one sysctl per namespace, run side
   * by side) rather than one `ip` per link, address and route: 2.1 s of ~90 sequential commands before (2026-12-03).
   */
  private async build(): Promise<void> {
    await sweepStale();
    const { ns } = this;
    const linked = this.linkPlan.lte || this.linkPlan.aps.some(Boolean);
    const two = this.hqReplicas === 2;
    const names = [ns.veh, ns.cam, ns.air, ns.net, ns.lte, ns.hq, ...(two ? [ns.hqb] : []), ns.disp, ...ns.ap, ...(linked ? [ns.lnk] : [])];
    /** Per namespace, in order: its `ip` commands, its sysctls, its nftables script. */
    const ip = new Map<string, string[]>(names.map((n) => [n, ['link set dev lo up']]));
    const sysctl = new Map<string, string[]>();
    const nft = new Map<string, string[]>();
    const add = <T>(m: Map<string, T[]>, n: string, ...v: T[]) => m.set(n, [...(m.get(n) ?? []), ...v]);
    const pairs: Array<[End, End]> = [];
    const veth = (a: End, b: End) => pairs.push([a, b]);
    const addrUp = (n: string, dev: string, cidr: string) => add(ip, n, `addr add ${cidr} dev ${dev}`, `link set dev ${dev} up`);
    const bridge = (n: string, br: string) => add(ip, n, `link add ${br} type bridge`, `link set dev ${br} up`);
    /** Devices whose transmit checksums are filled in by software (see veth()), besides every veth end. */
    const checksummed: End[] = [];

    // The internet: one segment.
    add(ip, ns.net, 'link add br0 type bridge');
    addrUp(ns.net, 'br0', `${PLAN.netRouter}/24`);
    const wan = (host: string, port: string, address: string) => {
      veth({ ns: host, name: 'wan0' }, { ns: ns.net, name: port });
      add(ip, ns.net, `link set dev ${port} master br0 up`);
      addrUp(host, 'wan0', `${address}/24`);
    };

    // HQ and its LAN.
    wan(ns.hq, 'p-hq', PLAN.hqWan);
    if (!two) {
      veth({ ns: ns.hq, name: 'lan0' }, { ns: ns.disp, name: 'lan0' });
      addrUp(ns.hq, 'lan0', `${PLAN.hqLanGw}/24`);
      addrUp(ns.disp, 'lan0', `${PLAN.dispatcher}/24`);
    } else {
      // Two HQs on one LAN segment: the gateway address is VRRP's (keepalived adds it to the master's lan0).
      wan(ns.hqb, 'p-hqb', PLAN.hqbWan);
      add(ip, ns.disp, 'link add br0 type bridge');
      addrUp(ns.disp, 'br0', `${PLAN.dispatcher}/24`);
      for (const [i, hq] of [ns.hq, ns.hqb].entries()) {
        veth({ ns: hq, name: 'lan0' }, { ns: ns.disp, name: `l${i}` });
        add(ip, ns.disp, `link set dev l${i} master br0 up`);
        addrUp(hq, 'lan0', `${PLAN.hqLanOwn[i]}/24`);
        add(sysctl, hq, 'net.ipv4.ip_forward=1');
      }
    }
    add(ip, ns.disp, `route add default via ${PLAN.hqLanGw}`);
    if (!two) add(sysctl, ns.hq, 'net.ipv4.ip_forward=1');

    // Access points: a radio segment (bridge in `air`) each, DHCP, NAT, and no foreign sources.
    for (let i = 0; i < this.aps.length; i++) {
      const ap = ns.ap[i]!;
      const net = PLAN.apNet(i);
      wan(ap, `p-ap${i}`, PLAN.apWan(i));
      add(ip, ap, `route add default via ${PLAN.netRouter}`);
      bridge(ns.air, `br${i}`);
      veth({ ns: ap, name: 'wl0' }, { ns: ns.air, name: `a${i}` });
      if (this.linkPlan.aps[i]) {
        // Joined to br<i> through the link emulator, plumbed below.
        bridge(ns.air, `lb${i}`);
        add(ip, ns.air, `link set dev a${i} master lb${i} up`);
      } else {
        add(ip, ns.air, `link set dev a${i} master br${i} up`);
      }
      addrUp(ap, 'wl0', `${net}.1/24`);
      add(sysctl, ap, 'net.ipv4.ip_forward=1');
      add(nft, ap, natScript('wl0', `${net}.0/24`));
    }

    // The LTE carrier: the modem's link straight into the carrier's network, behind carrier-grade NAT.
    wan(ns.lte, 'p-lte', PLAN.lteWan);
    add(ip, ns.lte, `route add default via ${PLAN.netRouter}`);
    veth({ ns: ns.veh, name: PLAN.modem }, { ns: ns.lte, name: 'ran0' });
    if (this.linkPlan.lte) {
      for (const br of ['ranb', 'ranr']) bridge(ns.lte, br);
      // The router's own packets leave with whole checksums (the relay carries bytes).
      checksummed.push({ ns: ns.lte, name: 'ranr' });
      add(ip, ns.lte, 'link set dev ran0 master ranb up');
    }
    addrUp(ns.lte, this.lteRouter, `${PLAN.lteNet}.1/24`);
    add(sysctl, ns.lte, 'net.ipv4.ip_forward=1');
    add(nft, ns.lte, natScript(this.lteRouter, `${PLAN.lteNet}.0/24`));

    // The vehicle: two radios whose far ends wait, unassociated, in `air`; its LAN with the camera.
    for (const radio of PLAN.radios) {
      veth({ ns: ns.veh, name: radio }, { ns: ns.air, name: `r-${radio}` });
      this.associated.set(radio, null);
    }
    for (const dev of [...PLAN.radios, PLAN.modem]) add(ip, ns.veh, `link set dev ${dev} up`);
    // The lab's own counters of the tunnel's outer packets at each hop (read only when a run goes wrong: see
    // runner.ts's diagnosis). Counting only: every chain accepts.
    const watch = (hook: string) => `table inet lab_watch {\n  chain c {\n    type filter hook ${hook} priority -400; policy accept;\n` +
      `    udp dport ${PLAN.wgPort} counter\n    udp sport ${PLAN.wgPort} counter\n  }\n}\n`;
    add(nft, ns.veh, watch('postrouting'));
    add(nft, ns.hq, watch('prerouting'));
    if (two) add(nft, ns.hqb, watch('prerouting'));
    for (const ap of [...ns.ap, ns.lte]) add(nft, ap, watch('forward'));
    veth({ ns: ns.veh, name: 'lan0' }, { ns: ns.cam, name: 'lan0' });
    addrUp(ns.veh, 'lan0', `${PLAN.vehLanGw}/24`);
    addrUp(ns.cam, 'lan0', `${PLAN.camera}/24`);
    add(ip, ns.cam, `route add default via ${PLAN.vehLanGw}`);
    add(sysctl, ns.veh, 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0');

    // Made: the namespaces and every veth pair in one batch (counted as created first, so a half-done batch is torn down).
    if (this.tornDown) throw new Error('the lab was torn down while it was being built');
    this.created.push(...names);
    await ipBatch(null, [...names.map((n) => `netns add ${n}`), ...pairs.map(([a, b]) => vethLine(a, b))]);
    // Configured: each namespace's own commands, side by side (no namespace's commands wait for another's).
    if (this.tornDown) throw new Error('the lab was torn down while it was being built');
    await Promise.all([
      ...[...ip].map(([n, lines]) => ipBatch(n, lines)),
      ...[...sysctl].map(([n, kv]) => this.sysctl(n, ...kv)),
      ...[...nft].map(([n, scripts]) => this.nft(n, scripts.join('\n'))),
      ...pairs.flat().map(txChecksumsInSoftware),
    ]);
    await Promise.all(checksummed.map(txChecksumsInSoftware)); // devices the batches above made

    // The emulated links: a segment to the relays' namespace each side, then the relays between the bridges.
    if (this.tornDown) throw new Error('the lab was torn down while it was being built');
    const airUnderlay = this.linkPlan.aps.some(Boolean) ? await this.underlay(ns.air, 'ula', 1) : null;
    for (let i = 0; i < this.aps.length; i++) {
      if (!this.linkPlan.aps[i]) continue;
      const link = new LabLink(`aps[${i}]`, ns.air, i, airUnderlay!);
      this.links.set(link.name, link);
      await link.plumb(`br${i}`, `lb${i}`, this.procs, 1000 + i);
    }
    if (this.linkPlan.lte) {
      // Frames crossing the carrier's bridges are the link's, not the router's: with br_netfilter loaded (Docker hosts;
      // each new namespace starts with it on) conntrack would see each flow twice, bridged on `ranb` and routed on
      // `ranr`, and NAT would rewrite the bridged copy's ports to keep the two entries apart: HQ's replies then reached
      // the vehicle from another port, and its WireGuard roamed there (the carrier loss onto LTE that never came back).
      // `-e`: a kernel without br_netfilter has no such keys and nothing to turn off.
      await run(['sysctl', '-e', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0'], { netns: ns.lte });
      const link = new LabLink('lte', ns.lte, 0, await this.underlay(ns.lte, 'ult', 2));
      this.links.set(link.name, link);
      await link.plumb('ranb', 'ranr', this.procs, 2000);
    }

    // DHCP on the APs' and the carrier's networks, once their addresses are there.
    for (let i = 0; i < this.aps.length; i++) this.dhcp(ns.ap[i]!, 'wl0', PLAN.apNet(i), 100, 199, `${PLAN.apNet(i)}.1`);
    this.dhcp(ns.lte, this.lteRouter, PLAN.lteNet, 10, 50, `${PLAN.lteNet}.1`);
  }

  /** A segment from `host` to the links' namespace, for VXLAN to reach the relays (room for its 50 bytes). */
  private async underlay(host: string, port: string, subnet: number): Promise<Underlay> {
    await this.veth({ ns: host, name: 'ul0' }, { ns: this.ns.lnk, name: port });
    const u = { relayNs: this.ns.lnk, hostAddr: `10.255.${subnet}.1`, relayAddr: `10.255.${subnet}.2` };
    for (const [ns, dev, a] of [[host, 'ul0', u.hostAddr], [this.ns.lnk, port, u.relayAddr]] as const) {
      await this.ipn(ns, 'link', 'set', 'dev', dev, 'mtu', '9000');
      await this.addr(ns, dev, `${a}/24`);
    }
    return u;
  }

  /**
   * Two hosts that do not belong: one on AP 0's radio segment (as another client of the same AP), one behind the
   * carrier (another subscriber, or the carrier itself). Each routes the vehicle's LAN, HQ's LAN and the tunnel
   * network at the vehicle's uplink address, and holds forged inside addresses (INTRUDER.spoofLan, .spoofTunnel) to send
   * from. Torn down with the lab.
   */
  async addIntruders(vehicle: { apAddress: string; lteAddress: string }): Promise<{ ap: string; lte: string }> {
    const ap = `${this.id}-iap`;
    const lte = `${this.id}-ilte`;
    for (const name of [ap, lte]) {
      await run(['ip', 'netns', 'add', name]);
      this.created.push(name);
      await this.ipn(name, 'link', 'set', 'dev', 'lo', 'up');
    }
    const inside = [PLAN.vehLan, PLAN.hqLan, PLAN.tunnelNet];
    const forged = [`${INTRUDER.spoofLan}/32`, `${INTRUDER.spoofTunnel}/32`];
    // On AP 0's segment, next to the vehicle's radio.
    await this.veth({ ns: ap, name: 'wl0' }, { ns: this.ns.air, name: 'iap0' });
    await this.ipn(this.ns.air, 'link', 'set', 'dev', 'iap0', 'master', 'br0', 'up');
    await this.addr(ap, 'wl0', `${INTRUDER.ap}/24`);
    for (const f of forged) await this.ipn(ap, 'addr', 'add', f, 'dev', 'wl0');
    for (const net of inside) await this.ipn(ap, 'route', 'add', net, 'via', vehicle.apAddress);
    // Behind the carrier: the carrier routes the inside networks at the vehicle's modem address.
    await this.veth({ ns: lte, name: 'wan0' }, { ns: this.ns.lte, name: 'iran0' });
    await this.addr(this.ns.lte, 'iran0', `${INTRUDER.lteGw}/24`);
    await this.addr(lte, 'wan0', `${INTRUDER.lte}/24`);
    for (const f of forged) await this.ipn(lte, 'addr', 'add', f, 'dev', 'wan0');
    await this.ipn(lte, 'route', 'add', 'default', 'via', INTRUDER.lteGw);
    await this.sysctl(this.ns.lte, 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.iran0.rp_filter=0');
    for (const net of inside) await this.ipn(this.ns.lte, 'route', 'add', net, 'via', vehicle.lteAddress, 'dev', this.lteRouter);
    return { ap, lte };
  }

  /** Joins a radio's link to an AP's segment (index into `aps`), or to none (no carrier). */
  async associate(radio: string, ap: number | null): Promise<void> {
    const port = `r-${radio}`;
    if (this.associated.get(radio) === ap) return;
    await this.ipn(this.ns.air, 'link', 'set', 'dev', port, 'down');
    await this.ipn(this.ns.air, 'link', 'set', 'dev', port, 'nomaster');
    if (ap !== null) {
      await this.ipn(this.ns.air, 'link', 'set', 'dev', port, 'master', `br${ap}`);
      await this.ipn(this.ns.air, 'link', 'set', 'dev', port, 'up');
    }
    this.associated.set(radio, ap);
  }

  associationOf(radio: string): number | null {
    return this.associated.get(radio) ?? null;
  }

  /** The far end of an uplink: where the lab cuts carrier or drops traffic. */
  private farEnd(uplink: UplinkName): { ns: string; dev: string } {
    return uplink === PLAN.modem ? { ns: this.ns.lte, dev: 'ran0' } : { ns: this.ns.air, dev: `r-${uplink}` };
  }

  /** Carrier loss (false) or its return (true). A radio comes back associated with the AP it had. */
  async carrier(uplink: UplinkName, up: boolean): Promise<void> {
    const end = this.farEnd(uplink);
    await this.ipn(end.ns, 'link', 'set', 'dev', end.dev, up ? 'up' : 'down');
  }

  /** A silent blackhole: the link stays up, every frame both ways is dropped. */
  async blackhole(uplink: UplinkName, on: boolean): Promise<void> {
    const end = this.farEnd(uplink);
    const table = `bh_${uplink}`;
    if (on && !this.blackholed.has(uplink)) {
      await this.nft(end.ns, [
        `table netdev ${table} {`,
        `  chain in { type filter hook ingress device "${end.dev}" priority 0; policy drop; }`,
        `  chain out { type filter hook egress device "${end.dev}" priority 0; policy drop; }`,
        '}',
      ].join('\n'));
      this.blackholed.add(uplink);
    } else if (!on && this.blackholed.has(uplink)) {
      await this.nft(end.ns, `delete table netdev ${table}`);
      this.blackholed.delete(uplink);
    }
  }

  /** An HQ machine's namespace by its scenario name. */
  hqNs(machine: 'hq-a' | 'hq-b'): string {
    return machine === 'hq-a' ? this.ns.hq : this.ns.hqb;
  }

  /**
   * An HQ machine loses power: every process in it killed at once (its daemon, probe echo, wireguard-go, keepalived),
   * what lived only in memory gone with them (the tunnel interface, VRRP's address), its links down.
   */
  async powerOff(machine: 'hq-a' | 'hq-b'): Promise<void> {
    const ns = this.hqNs(machine);
    const r = await run(['ip', 'netns', 'pids', ns], { allowFail: true });
    for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const dev of ['wan0', 'lan0']) await run(['ip', '-n', ns, 'link', 'set', 'dev', dev, 'down'], { allowFail: true });
    const wgIf = machine === 'hq-a' ? this.wg.hq : this.wg.hqb;
    await run(['ip', '-n', ns, 'link', 'del', 'dev', wgIf], { allowFail: true });
    await rm(`/run/wireguard/${wgIf}.sock`, { force: true });
    await run(['ip', '-n', ns, 'addr', 'del', `${PLAN.hqLanGw}/24`, 'dev', 'lan0'], { allowFail: true });
  }

  /** Power back: the links up (the runner starts its daemons again). */
  async powerOn(machine: 'hq-a' | 'hq-b'): Promise<void> {
    const ns = this.hqNs(machine);
    for (const dev of ['wan0', 'lan0']) await this.ipn(ns, 'link', 'set', 'dev', dev, 'up');
  }

  /** Tears down everything: processes in every namespace, the namespaces, wireguard-go sockets. Idempotent. */
  down(): Promise<void> {
    // Every caller (an abort, then the run's finally) waits for the same, whole teardown.
    this.tornDown ??= this.teardown();
    return this.tornDown;
  }

  private async teardown(): Promise<void> {
    // A build under way stops at its next namespace; wait for it, so nothing it made is missed.
    await this.building?.catch(() => {});
    await this.procs.stopAll();
    const names = this.created.reverse();
    await killNetnsPids(...names);
    await ipBatch(null, names.map((n) => `netns del ${n}`), { force: true });
    await Promise.all(Object.values(this.wg).map((ifname) => rm(`/run/wireguard/${ifname}.sock`, { force: true })));
  }
}

function natScript(inner: string, innerNet: string): string {
  return [
    'table ip lab {',
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
    `    iifname "${inner}" ip saddr != ${innerNet} drop`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority 100; policy accept;',
    '    oifname "wan0" masquerade',
    '  }',
    '}',
  ].join('\n');
}

/** A device in a namespace. */
interface End {
  ns: string;
  name: string;
}

/** The `ip` command that makes a veth pair with each end in its namespace. */
function vethLine(a: End, b: End): string {
  return `link add name ${a.name} netns ${a.ns} type veth peer name ${b.name} netns ${b.ns}`;
}

/** Checksums filled in by software on a device, so raw-socket readers (udhcpc) and the link relays see valid ones. */
async function txChecksumsInSoftware(end: End): Promise<void> {
  await run(['ethtool', '-K', end.name, 'tx', 'off'], { netns: end.ns, allowFail: true });
}

/**
 * `ip` commands as one batch (`ip [-n NS] -batch -`): one process instead of one per command. A failure names the
 * command that failed (ip stops there), not only the batch.
 */
export async function ipBatch(netns: string | null, lines: readonly string[], opts: { force?: boolean } = {}): Promise<void> {
  if (!lines.length) return;
  const argv = ['ip', ...(netns ? ['-n', netns] : []), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  const r = await run(argv, { input: `${lines.join('\n')}\n`, allowFail: true });
  if (r.exitCode === 0 || opts.force) return;
  const at = /Command failed -:(\d+)/.exec(r.stderr);
  const line = at ? lines[Number(at[1]) - 1] : undefined;
  throw new CommandError(argv, r.exitCode, `${r.stderr.trim()}${line ? ` (ip ${line})` : ''}`, r.stdout);
}
