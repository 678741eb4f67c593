// What HQ knows of each vehicle right now, from its heartbeats: online or not, uplinks, site, and a short signal history.
import type { Heartbeat } from '../../shared/wire/heartbeat.js';

export interface FleetOptions {
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
  online: boolean;
}

interface Entry {
  last: Heartbeat;
  receivedAt: number;
  history: Sample[];
}

export class FleetState {
  private readonly byName = new Map<string, Entry>();
  private readonly seconds = new Map<string, number>();
  private readonly now: () => number;
  private readonly historySize: number;

  constructor(private readonly o: FleetOptions) {
    this.now = o.now ?? Date.now;
    this.historySize = o.historySize ?? 240;
  }

  get offlineAfterMs(): number {
    return this.o.offlineAfterMs;
  }

  /** Records a heartbeat; the time since the previous one (capped at offlineAfterMs) counts for its active uplink. */
  heartbeat(hb: Heartbeat): void {
    const now = this.now();
    const prev = this.byName.get(hb.vehicle);
    if (prev?.last.active) {
      const dt = Math.min(Math.max(0, now - prev.receivedAt), this.o.offlineAfterMs) / 1000;
      this.seconds.set(prev.last.active, (this.seconds.get(prev.last.active) ?? 0) + dt);
    }
    const sample: Sample = { t: now, active: hb.active, u: hb.uplinks.map((u) => [u.name, u.signal, u.rtt_ms, u.loss]) };
    const history = prev?.history ?? [];
    history.push(sample);
    if (history.length > this.historySize) history.splice(0, history.length - this.historySize);
    this.byName.set(hb.vehicle, { last: hb, receivedAt: now, history });
  }

  get(vehicle: string): VehicleLive | null {
    const e = this.byName.get(vehicle);
    return e ? { last: e.last, receivedAt: e.receivedAt, online: this.now() - e.receivedAt <= this.o.offlineAfterMs } : null;
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
    return [...(this.byName.get(vehicle)?.history ?? [])];
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
  }
}
