// What HQ knows of each vehicle right now, from its heartbeats: online or not, uplinks, site, and a short signal history.
import { realClock } from '../../shared/clock.js';
import type { Heartbeat } from '../../shared/wire/heartbeat.js';
import { BoundedLabels, MAX_UPLINK_LABELS } from '../metrics/labels.js';

export interface FleetOptions {
  /** HQ's wall clock (ms since the epoch). Default realClock.wallNow. */
  now?: () => number;
  /** A vehicle not heard from for this long is offline. */
  offlineAfterMs: number;
  /** Samples of signal history kept per vehicle (in memory; lost on restart). */
  historySize?: number;
}

/** One heartbeat's measurements, compact: [uplink, signal, rtt_ms, loss] per uplink. */
export interface Sample {
  t: number;
  active: string | null;
  u: Array<[string, number | null, number | null, number | null]>;
}

export interface VehicleLive {
  last: Heartbeat;
  /** HQ's clock when the last heartbeat arrived. */
  receivedAt: number;
  /** HQ's clock minus the vehicle's, from the last heartbeat (its `at` against receivedAt): its clock's offset. */
  clockOffsetMs: number;
  online: boolean;
}

/** Uplinks per vehicle kept in the history (the rest are left out of the chart). */
const MAX_UPLINKS = 4;
const PER_UPLINK = 3; // signal, rtt, loss
const WIDTH = 1 + MAX_UPLINKS * PER_UPLINK; // active index, then the uplinks

/**
 * A vehicle's signal history as a ring of typed arrays (about 60 bytes a sample, instead of ~400 as objects: 2,000
 * vehicles with a full history fit in ~30 MB). NaN stands for null.
 */
class History {
  private readonly t: Float64Array;
  private readonly v: Float32Array;
  private readonly names: string[] = [];
  private next = 0;
  private size = 0;

  constructor(private readonly cap: number) {
    this.t = new Float64Array(cap);
    this.v = new Float32Array(cap * WIDTH);
  }

  push(s: Sample): void {
    const i = this.next;
    this.t[i] = s.t;
    const row = i * WIDTH;
    this.v.fill(NaN, row, row + WIDTH);
    this.v[row] = s.active === null ? -1 : this.slot(s.active);
    for (const [name, signal, rtt, loss] of s.u) {
      const k = this.slot(name);
      if (k < 0) continue;
      const at = row + 1 + k * PER_UPLINK;
      this.v[at] = signal ?? NaN;
      this.v[at + 1] = rtt ?? NaN;
      this.v[at + 2] = loss ?? NaN;
    }
    this.next = (i + 1) % this.cap;
    this.size = Math.min(this.cap, this.size + 1);
  }

  samples(): Sample[] {
    const out: Sample[] = [];
    const val = (x: number) => (Number.isNaN(x) ? null : Math.round(x * 1000) / 1000);
    for (let n = 0; n < this.size; n++) {
      const i = (this.next - this.size + n + this.cap) % this.cap;
      const row = i * WIDTH;
      const a = this.v[row]!;
      const u: Sample['u'] = [];
      this.names.forEach((name, k) => {
        const at = row + 1 + k * PER_UPLINK;
        const [sig, rtt, loss] = [this.v[at]!, this.v[at + 1]!, this.v[at + 2]!];
        if (!(Number.isNaN(sig) && Number.isNaN(rtt) && Number.isNaN(loss))) u.push([name, val(sig), val(rtt), val(loss)]);
      });
      out.push({ t: this.t[i]!, active: a >= 0 && !Number.isNaN(a) ? (this.names[a] ?? null) : null, u });
    }
    return out;
  }

  private slot(name: string): number {
    let k = this.names.indexOf(name);
    if (k < 0 && this.names.length < MAX_UPLINKS) k = this.names.push(name) - 1;
    return k;
  }
}

interface Entry {
  last: Heartbeat;
  receivedAt: number;
  history: History;
  /** LTE bytes (rx + tx) by UTC day ('YYYY-MM-DD'), the last LTE_DAYS days HQ heard of. */
  lte: Map<string, number>;
}

/** Days of LTE usage kept per vehicle (in memory; lost on an HQ restart). */
export const LTE_DAYS = 31;

/** The UTC day of a wall-clock time, as the dashboard and /metrics name it. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * LTE bytes moved between two heartbeats (pure): per LTE uplink with counters in both, the growth of rx + tx; a counter
 * that went down (the interface was made again) counts from zero. The first heartbeat HQ hears counts nothing: what was
 * moved before it is not known to be today's.
 */
export function lteDelta(prev: Heartbeat | null, cur: Heartbeat): number {
  if (!prev) return 0;
  let bytes = 0;
  for (const u of cur.uplinks) {
    if (u.kind !== 'lte') continue;
    const p = prev.uplinks.find((x) => x.name === u.name);
    if (!p) continue;
    for (const k of ['rx_bytes', 'tx_bytes'] as const) {
      const a = p[k];
      const b = u[k];
      if (a === null || b === null) continue;
      bytes += b >= a ? b - a : b;
    }
  }
  return bytes;
}

export class FleetState {
  private readonly byName = new Map<string, Entry>();
  private readonly seconds = new Map<string, number>();
  private readonly uplinkLabels = new BoundedLabels(MAX_UPLINK_LABELS);
  private readonly now: () => number;
  private readonly historySize: number;

  constructor(private readonly o: FleetOptions) {
    this.now = o.now ?? realClock.wallNow;
    this.historySize = o.historySize ?? 240;
  }

  get offlineAfterMs(): number {
    return this.o.offlineAfterMs;
  }

  private changes = 0;
  /** Grows with every heartbeat, restore and forget: whoever shows the fleet knows when to look again. */
  get version(): number {
    return this.changes;
  }

  /**
   * Records a heartbeat; the time since the previous one (capped at offlineAfterMs) counts for its active uplink, when
   * that heartbeat declared it among its uplinks (an undeclared name counts nowhere); past MAX_UPLINK_LABELS names
   * fleet-wide, as "other".
   */
  heartbeat(hb: Heartbeat): void {
    const now = this.now();
    const prev = this.byName.get(hb.vehicle);
    const active = prev?.last.active;
    if (active && prev.last.uplinks.some((u) => u.name === active)) {
      const dt = Math.min(Math.max(0, now - prev.receivedAt), this.o.offlineAfterMs) / 1000;
      const label = this.uplinkLabels.label(active);
      this.seconds.set(label, (this.seconds.get(label) ?? 0) + dt);
    }
    const history = prev?.history ?? new History(this.historySize);
    history.push({ t: now, active: hb.active, u: hb.uplinks.map((u) => [u.name, u.signal, u.rtt_ms, u.loss]) });
    const lte = prev?.lte ?? new Map<string, number>();
    const moved = lteDelta(prev?.last ?? null, hb);
    const day = utcDay(now);
    if (moved || !lte.has(day)) lte.set(day, (lte.get(day) ?? 0) + moved);
    while (lte.size > LTE_DAYS) lte.delete(lte.keys().next().value!);
    // A heartbeat without health (the first after an agent start, before HQ's reply said it takes it) keeps the last sample.
    const last = hb.health === null && prev?.last.health ? { ...hb, health: prev.last.health } : hb;
    this.byName.set(hb.vehicle, { last, receivedAt: now, history, lte });
    this.dirty.add(hb.vehicle);
    this.changes++;
  }

  /** LTE bytes a vehicle moved on each UTC day HQ heard it (oldest first), from its heartbeats' interface counters. */
  lteDays(vehicle: string): Array<{ day: string; bytes: number }> {
    const e = this.byName.get(vehicle);
    return e ? [...e.lte].map(([day, bytes]) => ({ day, bytes })) : [];
  }

  /** LTE bytes a vehicle moved today (UTC, HQ's clock). */
  lteToday(vehicle: string): number {
    return this.byName.get(vehicle)?.lte.get(utcDay(this.now())) ?? 0;
  }

  /** The vehicles HQ has heard since it started (online or not), by name. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  get(vehicle: string): VehicleLive | null {
    const e = this.byName.get(vehicle);
    return e
      ? { last: e.last, receivedAt: e.receivedAt, clockOffsetMs: e.receivedAt - Date.parse(e.last.at), online: this.now() - e.receivedAt <= this.o.offlineAfterMs }
      : null;
  }

  online(vehicle: string): boolean {
    return this.get(vehicle)?.online ?? false;
  }

  onlineCount(): number {
    const cutoff = this.now() - this.o.offlineAfterMs;
    let n = 0;
    for (const e of this.byName.values()) if (e.receivedAt >= cutoff) n++;
    return n;
  }

  history(vehicle: string): Sample[] {
    return this.byName.get(vehicle)?.history.samples() ?? [];
  }

  /** Seconds the fleet's online vehicles spent on each uplink, as heartbeats report it. */
  uplinkSeconds(): Map<string, number> {
    return new Map(this.seconds);
  }

  /** Unshipped switch events the online vehicles report. */
  backlog(): { sum: number; max: number } {
    const cutoff = this.now() - this.o.offlineAfterMs;
    let sum = 0;
    let max = 0;
    for (const e of this.byName.values()) {
      if (e.receivedAt < cutoff) continue;
      sum += e.last.journal_backlog;
      max = Math.max(max, e.last.journal_backlog);
    }
    return { sum, max };
  }

  /** Forgets a vehicle (revoked). */
  forget(vehicle: string): void {
    this.byName.delete(vehicle);
    this.dirty.delete(vehicle);
    this.changes++;
  }

  // What a restarted HQ, or the other concentrator, needs of the fleet (store/fleet): each vehicle's last heartbeat
  // (online, its clock's offset for events sent without a clock) and its LTE days. The signal history stays in memory.
  private readonly dirty = new Set<string>();

  /** The vehicles heard from since the last call (each heartbeat marks its vehicle). */
  takeDirty(): string[] {
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }

  /** Marks them again (their save failed: the next one takes them). */
  requeue(vehicles: readonly string[]): void {
    for (const v of vehicles) if (this.byName.has(v)) this.dirty.add(v);
  }

  snapshot(vehicle: string): FleetSnapshot | null {
    const e = this.byName.get(vehicle);
    return e ? { vehicle, receivedAt: e.receivedAt, last: e.last, lte: [...e.lte] } : null;
  }

  /** Takes a stored snapshot, unless a newer heartbeat is here already. */
  restore(s: FleetSnapshot): void {
    const cur = this.byName.get(s.vehicle);
    if (cur && cur.receivedAt >= s.receivedAt) return;
    this.byName.set(s.vehicle, { last: s.last, receivedAt: s.receivedAt, history: cur?.history ?? new History(this.historySize), lte: new Map(s.lte.slice(-LTE_DAYS)) });
    this.changes++;
  }
}

/** One vehicle's live state as stored (store/fleet). */
export interface FleetSnapshot {
  vehicle: string;
  /** HQ's clock when its last heartbeat arrived. */
  receivedAt: number;
  last: Heartbeat;
  /** LTE bytes by UTC day, oldest first. */
  lte: Array<[string, number]>;
}
