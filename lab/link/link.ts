// A lab link emulated in userspace: two VXLAN ends in one namespace, each a port of a bridge, and the relay process between.
import { fileURLToPath } from 'node:url';
import { run } from '../../shared/exec.js';
import { IDEAL_LINK, type LinkParams } from '../../shared/link.js';
import type { Proc, ProcGroup } from '../procs.js';

export const LINK_MAIN = fileURLToPath(new URL('./link.main.js', import.meta.url));
/** The port the namespace's VXLAN ends listen on (one kernel socket serves both, told apart by VNI). */
const VXLAN_PORT = 4789;

export type LinkCounts = {
  forwarded: number;
  dropped: number;
  overflow: number;
  queued: number;
};

/*
 * Without netem (design.md §4) the kernel cannot delay a packet, so each emulated link runs through a relay:
 *
 *   namespace ns                                              relay namespace
 *   bridge A ─ vxlan `lk<n>a` (VNI 100+2n) ─▶ udp ─ underlay ─▶ relayAddr:47000+2n ─┐
 *                                                                      relay (lab/link/link.main.ts): loss, delay, jitter
 *   bridge B ─ vxlan `lk<n>b` (VNI 101+2n) ─▶ udp ─ underlay ─▶ relayAddr:47001+2n ─┘ ─▶ the other VNI on hostAddr:4789
 *
 * The kernel moves whole Ethernet frames (ARP, DHCP, the tunnel's packets) into UDP and back, so the link is a wire to
 * both sides; the rate is a TBF on each VXLAN end's egress (before the relay), set by `tc`. The relay sits in another
 * namespace because VXLAN hands a frame for a local address straight to the local VXLAN device, bypassing any relay
 * there (turning that off needs `nolocalbypass`, which this iproute2 does not know, 2026-12).
 */
export interface Underlay {
  /** Where the relay runs, and its address there; the VXLAN ends' address in `ns`, on the same segment. */
  relayNs: string;
  relayAddr: string;
  hostAddr: string;
}
export class LabLink {
  readonly devA: string;
  readonly devB: string;
  private proc: Proc | null = null;
  private params: LinkParams = { ...IDEAL_LINK };
  private pendingStats: Array<(c: { up: LinkCounts; down: LinkCounts } | null) => void> = [];

  constructor(
    /** What it is, for logs: e.g. `aps[0]`, `lte`. */
    readonly name: string,
    readonly ns: string,
    /** Unique among the links of one namespace: picks device names, VNIs and ports. */
    readonly index: number,
    readonly underlay: Underlay,
  ) {
    this.devA = `lk${index}a`;
    this.devB = `lk${index}b`;
  }

  /** Joins `bridgeA` (the vehicle's side) and `bridgeB` (the network's) through the relay, started in `procs`. */
  async plumb(bridgeA: string, bridgeB: string, procs: ProcGroup, seed: number): Promise<void> {
    const ip = (...args: string[]) => run(['ip', '-n', this.ns, ...args]);
    const ends = [
      { dev: this.devA, vni: 100 + 2 * this.index, relay: 47_000 + 2 * this.index, bridge: bridgeA },
      { dev: this.devB, vni: 101 + 2 * this.index, relay: 47_001 + 2 * this.index, bridge: bridgeB },
    ];
    let ready: () => void = () => {};
    const listening = new Promise<void>((resolve) => (ready = resolve));
    this.proc = procs.start(`link-${this.name}`, [
      process.execPath, LINK_MAIN, '--port-a', String(ends[0]!.relay), '--port-b', String(ends[1]!.relay),
      '--vni-a', String(ends[0]!.vni), '--vni-b', String(ends[1]!.vni), '--vxlan-port', String(VXLAN_PORT), '--seed', String(seed),
      '--bind', this.underlay.relayAddr, '--to', this.underlay.hostAddr,
    ], {
      netns: this.underlay.relayNs,
      stdin: true,
      onStderrLine: (line) => {
        if (line.startsWith('link: listening')) ready();
      },
      onStdoutLine: (line) => {
        try {
          const v = JSON.parse(line) as { stats?: { up: LinkCounts; down: LinkCounts } };
          if (v.stats) this.pendingStats.shift()?.(v.stats);
        } catch {
          /* not ours */
        }
      },
    });
    for (const e of ends) {
      await ip('link', 'add', e.dev, 'type', 'vxlan', 'id', String(e.vni), 'local', this.underlay.hostAddr, 'dstport', String(VXLAN_PORT), 'nolearning');
      await run(['bridge', 'fdb', 'add', '00:00:00:00:00:00', 'dev', e.dev, 'dst', this.underlay.relayAddr, 'port', String(e.relay)], { netns: this.ns });
      // Checksums filled in before a frame enters the relay: it carries bytes, not the kernel's offload state.
      await run(['ethtool', '-K', e.dev, 'tx', 'off'], { netns: this.ns, allowFail: true });
      await ip('link', 'set', 'dev', e.dev, 'master', e.bridge, 'up');
    }
    const proc = this.proc;
    await Promise.race([
      listening,
      proc.exited.then((c) => {
        throw new Error(`the link emulator for ${this.name} exited (${c}) before it listened`);
      }),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`the link emulator for ${this.name} did not listen within 10 s`)), 10_000).unref()),
    ]);
  }

  /** The relay's pid (while it runs). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get current(): LinkParams {
    return { ...this.params };
  }

  /** The link's setting from now on: loss, delay and jitter in the relay, the rate as a TBF on both VXLAN ends. */
  async set(p: LinkParams): Promise<void> {
    if (!this.proc?.write(`${JSON.stringify({ set: p })}\n`)) throw new Error(`the link emulator for ${this.name} is not running`);
    if (p.rate_mbit !== this.params.rate_mbit) {
      for (const dev of [this.devA, this.devB]) {
        if (p.rate_mbit === null) await run(['tc', 'qdisc', 'del', 'dev', dev, 'root'], { netns: this.ns, allowFail: true });
        else await run(['tc', 'qdisc', 'replace', 'dev', dev, 'root', ...tbfArgs(p.rate_mbit)], { netns: this.ns });
      }
    }
    this.params = { ...p };
  }

  /** What the relay counted each way (up: from the vehicle); null when it does not answer within a second. */
  async stats(): Promise<{ up: LinkCounts; down: LinkCounts } | null> {
    if (!this.proc?.running) return null;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pendingStats = this.pendingStats.filter((f) => f !== done);
        resolve(null);
      }, 1000);
      const done = (c: { up: LinkCounts; down: LinkCounts } | null) => {
        clearTimeout(t);
        resolve(c);
      };
      this.pendingStats.push(done);
      this.proc!.write(`${JSON.stringify({ stats: true })}\n`);
    });
  }
}

/**
 * TBF for a rate: a bucket of 4 ms at the rate (at least 4 KB: two full frames) and a queue of 100 ms at the rate
 * (what a radio's buffer holds before it drops; LTE's hold more, Wi-Fi's about this).
 */
export function tbfArgs(rateMbit: number): string[] {
  const bytesPerMs = (rateMbit * 1e6) / 8 / 1000;
  const burst = Math.max(4096, Math.round(bytesPerMs * 4));
  return ['tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burst), 'latency', '100ms'];
}
