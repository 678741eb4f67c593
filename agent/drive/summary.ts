// What a run of a drive cost (pure): switches, back-and-forth pairs, time and bytes on LTE, time on a weak Wi-Fi, the
// failovers' predicted outage; and whether a profile would flap on the drive's own signals by construction.
import type { SwitchRecord } from '../machines/arbiter.machine.js';
import type { UplinkReport } from '../machines/uplink.machine.js';
import type { Policy } from '../policy/policy.js';
import type { DriveHeader, DriveSegment } from '../../shared/wire/drive.js';

export interface Summary {
  switches: number;
  /** A switch undone (back to where it came from) within PING_PONG_MS: counted once per pair. */
  ping_pong: number;
  /** Time the tunnel was on an LTE uplink, and the tunnel's bytes then (estimated from the drive's byte readings). */
  lte_ms: number;
  lte_mb: number;
  /** Time the tunnel was on a Wi-Fi weaker than switch_below (the drive's own profile's, so runs compare). */
  below_ms: number;
  /** Failovers (carrier loss, blackhole, loss, watchdog) and their predicted outage: from the old path's last sign of
   *  life to the first reply on the new one, summed. */
  failovers: number;
  outage_ms: number;
}

export const PING_PONG_MS = 30_000;
const FAILOVER = new Set(['carrier-loss', 'blackhole', 'loss', 'watchdog']);

export function pingPongs(switches: ReadonlyArray<{ at_ms: number; from: string | null; to: string }>): number {
  let n = 0;
  for (let i = 1; i < switches.length; i++) {
    const a = switches[i - 1]!;
    const b = switches[i]!;
    if (a.from !== null && b.from === a.to && b.to === a.from && b.at_ms - a.at_ms <= PING_PONG_MS) {
      n++;
      i++; // a pair is counted once: A→B→A→B is one pair and the start of the next
    }
  }
  return n;
}

/** Accumulates a run's time on LTE and on weak Wi-Fi over a window of segment time. */
export class Timeline {
  private readonly kind: Map<string, string>;
  private readonly signal = new Map<string, number | null>();
  private lastT: number | null = null;
  private active: string | null = null;
  private lteMs = 0;
  private belowMs = 0;
  private lteBytes = 0;
  /** Since the last byte reading: ms in the window, of them on LTE. */
  private sinceBytes = { ms: 0, lte: 0, total: null as number | null };
  private failovers = 0;
  private outageMs = 0;

  constructor(uplinks: DriveHeader['uplinks'], private readonly window: { from: number; to: number }, private readonly yardstick: Pick<Policy, 'switch_below'>) {
    this.kind = new Map(uplinks.map((u) => [u.name, u.kind]));
  }

  /** Time passes to `t` with `active` carrying the tunnel from now on. */
  at(t: number, active: string | null): void {
    if (this.lastT !== null && t > this.lastT && this.active !== null) {
      const from = Math.max(this.lastT, this.window.from);
      const to = Math.min(t, this.window.to);
      if (to > from) {
        const ms = to - from;
        const k = this.kind.get(this.active);
        const s = this.signal.get(this.active);
        if (k === 'lte') this.lteMs += ms;
        if (k === 'wifi' && (s === null || s === undefined || s < this.yardstick.switch_below)) this.belowMs += ms;
        this.sinceBytes.ms += ms;
        if (k === 'lte') this.sinceBytes.lte += ms;
      }
    }
    this.lastT = Math.max(this.lastT ?? t, t);
    this.active = active;
  }

  status(u: UplinkReport): void {
    this.signal.set(u.name, u.signal);
  }

  /** The tunnel's byte counters (rx + tx) at a reading: the bytes since the last are shared out by time on LTE. */
  bytes(total: number): void {
    const prev = this.sinceBytes.total;
    if (prev !== null && total >= prev && this.sinceBytes.ms > 0) this.lteBytes += ((total - prev) * this.sinceBytes.lte) / this.sinceBytes.ms;
    this.sinceBytes = { ms: 0, lte: 0, total };
  }

  /** A switch made; `heard` is when its old path was last heard, as of the decision. */
  failover(r: SwitchRecord, heard: number | null): void {
    if (!FAILOVER.has(String(r.reason)) || r.from === null) return;
    if (r.decided_at < this.window.from || r.decided_at > this.window.to) return;
    this.failovers++;
    this.outageMs += (heard === null ? 0 : Math.max(0, r.decided_at - heard)) + (r.ms_to_first_packet ?? 0);
  }

  end(t: number): void {
    this.at(t, this.active);
  }

  summary(switches: ReadonlyArray<{ at_ms: number; from: string | null; to: string }>): Summary {
    return {
      switches: switches.length,
      ping_pong: pingPongs(switches),
      lte_ms: Math.round(this.lteMs),
      lte_mb: Math.round((this.lteBytes / 1e6) * 1000) / 1000,
      below_ms: Math.round(this.belowMs),
      failovers: this.failovers,
      outage_ms: Math.round(this.outageMs),
    };
  }
}

/**
 * The signals' own jitter per Wi-Fi uplink: the median change (dB) between one reading and the next within 2 s. A
 * hysteresis at or below it lets noise alone make one uplink look better than another by the hysteresis.
 */
export function signalJitter(segments: DriveSegment[]): Record<string, number> {
  const diffs = new Map<string, number[]>();
  for (const seg of segments) {
    const wifi = new Set(seg.header.uplinks.filter((u) => u.kind === 'wifi').map((u) => u.name));
    const last = new Map<string, { t: number; s: number }>();
    for (const e of seg.events) {
      if (e.e !== 'u' || !wifi.has(e.n) || typeof e.s !== 'number') continue;
      const p = last.get(e.n);
      if (p && e.t - p.t <= 2000) {
        const d = diffs.get(e.n) ?? [];
        d.push(Math.abs(e.s - p.s));
        diffs.set(e.n, d);
      }
      last.set(e.n, { t: e.t, s: e.s });
    }
  }
  const out: Record<string, number> = {};
  for (const [n, d] of diffs) {
    if (d.length < 5) continue;
    d.sort((a, b) => a - b);
    out[n] = d[Math.floor(d.length / 2)]!;
  }
  return out;
}

/** Warnings for a profile that would flap by construction on this drive (allowed, but said). */
export function flapWarnings(policy: Pick<Policy, 'hysteresis_db' | 'hold_ms'>, jitter: Record<string, number>): string[] {
  const worst = Object.entries(jitter).sort((a, b) => b[1] - a[1])[0];
  if (!worst) return [];
  const [name, j] = worst;
  if (policy.hysteresis_db > j) return [];
  return [`hysteresis_db ${policy.hysteresis_db} dB is not above the signals' own jitter (${j} dB between readings on ${name}): noise alone can make a standby look better by the hysteresis, so the policy may switch back and forth${policy.hold_ms < 2000 ? ` (hold_ms ${policy.hold_ms} is short too)` : ''}`];
}
