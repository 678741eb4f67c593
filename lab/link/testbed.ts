// A bench for the link emulator alone: two hosts joined by one emulated link, measured with the lab's traffic meter.
//
//   a ─eth0── mid: bridge ba ─ vxlan ─┐                 ┌─ vxlan ─ bridge bb ──eth0─ b
//  10.77.0.1                           └─ lnk: relay ────┘                          10.77.0.2
//
// Namespaces are named like the lab's (`rl<pid><letter>-…`), so a crashed run's are swept by the next lab.
import { run } from '../../shared/exec.js';
import type { LinkParams } from '../../shared/link.js';
import { startMeter } from '../meter/meter.process.js';
import { nowMs } from '../meter/meter.js';
import { ProcGroup } from '../procs.js';
import { killNetnsPids, sweepStale } from '../topology.js';
import { LabLink } from './link.js';
import { arrivalsOf, DATAGRAM_BYTES } from '../meter/result.js';

/** The bytes TBF counts for one meter datagram: Ethernet, IPv4 and UDP headers around it. */
export const FRAME_BYTES = DATAGRAM_BYTES + 14 + 20 + 8;

export interface Measured {
  sent: number;
  received: number;
  /** Share of the sent that never arrived. */
  loss: number;
  /**
   * One-way delay over the link (ms): median; jitter as half the 16th-84th percentile spread (the standard deviation
   * for the emulator's delay, robust to a loaded machine's stalls, which std includes); percentiles and max.
   */
  delay: { p50: number; jitter: number; std: number; p1: number; p99: number; max: number };
  /** What got through, in Mbit/s of frames, over the time the arrivals took. */
  rate_mbit: number;
  reordered: number;
}

let counter = 0;

export class LinkTestbed {
  readonly id: string;
  readonly ns: { a: string; b: string; mid: string; lnk: string };
  readonly procs = new ProcGroup();
  private readonly created: string[] = [];
  link: LabLink | null = null;

  constructor() {
    this.id = `rl${process.pid}${String.fromCharCode(110 + (counter++ % 12))}`;
    const n = (r: string) => `${this.id}-${r}`;
    this.ns = { a: n('la'), b: n('lb'), mid: n('lm'), lnk: n('lnk') };
  }

  async up(): Promise<void> {
    await sweepStale();
    const ipn = (ns: string, ...args: string[]) => run(['ip', '-n', ns, ...args]);
    for (const ns of Object.values(this.ns)) {
      await run(['ip', 'netns', 'add', ns]);
      this.created.push(ns);
      await ipn(ns, 'link', 'set', 'dev', 'lo', 'up');
    }
    const veth = async (a: string, an: string, b: string, bn: string) => {
      await run(['ip', 'link', 'add', 'name', an, 'netns', a, 'type', 'veth', 'peer', 'name', bn, 'netns', b]);
      for (const [ns, dev] of [[a, an], [b, bn]] as const) await run(['ethtool', '-K', dev, 'tx', 'off'], { netns: ns, allowFail: true });
    };
    for (const [host, port, br, addr] of [[this.ns.a, 'pa', 'ba', '10.77.0.1'], [this.ns.b, 'pb', 'bb', '10.77.0.2']] as const) {
      await veth(host, 'eth0', this.ns.mid, port);
      await ipn(host, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      await ipn(host, 'link', 'set', 'dev', 'eth0', 'up');
      await ipn(this.ns.mid, 'link', 'add', br, 'type', 'bridge');
      await ipn(this.ns.mid, 'link', 'set', 'dev', br, 'up');
      await ipn(this.ns.mid, 'link', 'set', 'dev', port, 'master', br, 'up');
    }
    await veth(this.ns.mid, 'ul0', this.ns.lnk, 'ulm');
    for (const [ns, dev, addr] of [[this.ns.mid, 'ul0', '10.255.9.1'], [this.ns.lnk, 'ulm', '10.255.9.2']] as const) {
      await ipn(ns, 'link', 'set', 'dev', dev, 'mtu', '9000');
      await ipn(ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
      await ipn(ns, 'link', 'set', 'dev', dev, 'up');
    }
    this.link = new LabLink('bench', this.ns.mid, 0, { relayNs: this.ns.lnk, relayAddr: '10.255.9.2', hostAddr: '10.255.9.1' });
    await this.link.plumb('ba', 'bb', this.procs, 42);
  }

  /** Sends `pps` meter datagrams a → b for `durationMs` over the link set to `p`; what arrived and when. */
  async measure(p: LinkParams, pps: number, durationMs: number): Promise<Measured> {
    await this.link!.set(p);
    // Neighbours resolved before the clock starts, so the first datagrams do not wait for ARP.
    await run(['ping', '-c', '1', '-W', '2', '10.77.0.2'], { netns: this.ns.a, allowFail: true });
    const common = { pps, durationMs, startAtMs: nowMs() + 1000, drainMs: 1000 + 2 * (p.delay_ms + 4 * p.jitter_ms), runId: Math.floor(Math.random() * 1e9) };
    const [rx, tx] = await Promise.all([
      startMeter({ ...common, netns: this.ns.b, bind: '10.77.0.2:40100', peer: '10.77.0.1:40100', send: false, delays: true }),
      startMeter({ ...common, netns: this.ns.a, bind: '10.77.0.1:40100', peer: '10.77.0.2:40100', send: true }),
    ]);
    const [r, t] = await Promise.all([rx.result, tx.result]);
    const delays = Float64Array.from(r.rx.delay_us ?? [], (us) => us / 1000).sort();
    const q = (x: number) => (delays.length ? delays[Math.min(delays.length - 1, Math.floor(x * (delays.length - 1)))]! : NaN);
    const mean = delays.reduce((a, b) => a + b, 0) / Math.max(1, delays.length);
    const std = Math.sqrt(delays.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, delays.length));
    const arrivals = arrivalsOf(r.rx, r.t0_ms);
    const spanMs = arrivals.length > 1 ? arrivals[arrivals.length - 1]!.atMs - arrivals[0]!.atMs : NaN;
    return {
      sent: t.tx.sent,
      received: r.rx.received,
      loss: t.tx.sent ? 1 - r.rx.received / t.tx.sent : NaN,
      delay: { p50: q(0.5), jitter: (q(0.8413) - q(0.1587)) / 2, std, p1: q(0.01), p99: q(0.99), max: delays.length ? delays[delays.length - 1]! : NaN },
      rate_mbit: ((arrivals.length - 1) * FRAME_BYTES * 8) / (spanMs * 1000),
      reordered: r.rx.reordered,
    };
  }

  async down(): Promise<void> {
    await this.procs.stopAll();
    for (const ns of this.created.reverse()) {
      await killNetnsPids(ns);
      await run(['ip', 'netns', 'del', ns], { allowFail: true });
    }
    this.created.length = 0;
  }
}
