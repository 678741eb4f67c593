// The fleet pushed to dashboards as server-sent events (GET /v1/fleet/stream): one shared tick, only while someone
// listens, looks at a cheap signature of the fleet (heartbeats, switches, online count, registry changes) and, when it
// moved, sends each listener the rows that changed since the last push; a newcomer gets every row first.
import type { Timer } from '../../shared/clock.js';
import type { FleetRow } from './fleet-view.js';

export interface FleetPayload {
  vehicles: FleetRow[];
  online: number;
  offline_after_ms: number;
}

/** One push: `full` replaces the table; otherwise `vehicles` are the changed rows and `removed` the names gone. */
export interface FleetPush extends FleetPayload {
  full: boolean;
  removed: string[];
}

export interface FleetFeedOptions {
  /** The fleet as GET /v1/fleet answers it. */
  read: () => Promise<FleetPayload>;
  /** Changes whenever the fleet may have (FleetState.version, LastSwitches.version, online count, registry changes). */
  signature: () => string;
  /** Waits between looks (realClock; a SimClock in tests). */
  timer: Timer;
  /** How often the signature is looked at (default 1 s): the dashboard is at most this late. */
  tickMs?: number;
  /** Rows are read again at least this often even when the signature stands still (a CLI change; default 30 s). */
  rereadMs?: number;
  /** A comment line this often keeps proxies from closing an idle stream (default 15 s). */
  keepaliveMs?: number;
  /**
   * The share of time reading the fleet may take (default 0.1): after a read that took R ms the next waits at least
   * R / share (2,000 vehicles: a read took 150 ms at load 14, so pushes come every 1.5 s, 10 % of a core at most).
   */
  readShare?: number;
  now?: () => number;
  onError?: (err: Error) => void;
}

/** An SSE frame: `event: NAME` and the JSON on one data line. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** What changed between two readings of the rows (pure): rows whose JSON differs or are new, and names gone. */
export function diffRows(before: ReadonlyMap<string, string>, rows: readonly FleetRow[]): { changed: FleetRow[]; removed: string[]; next: Map<string, string> } {
  const next = new Map(rows.map((r) => [r.name, JSON.stringify(r)]));
  const changed = rows.filter((r) => before.get(r.name) !== next.get(r.name));
  const removed = [...before.keys()].filter((n) => !next.has(n));
  return { changed, removed, next };
}

type Send = (chunk: string) => void;

export class FleetFeed {
  private readonly listeners = new Set<Send>();
  private readonly newcomers = new Set<Send>();
  private last = new Map<string, string>();
  private lastSignature = '';
  private lastRead = 0;
  private readGap = 0;
  private lastSent = 0;
  private ticker: unknown = null;
  private running: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: FleetFeedOptions) {
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.listeners.size;
  }

  /** Adds a listener (it gets the whole fleet at once); returns its unsubscribe. */
  subscribe(send: Send): () => void {
    this.listeners.add(send);
    this.newcomers.add(send);
    void this.tick();
    this.arm();
    return () => {
      this.listeners.delete(send);
      this.newcomers.delete(send);
      if (!this.listeners.size) this.stop();
    };
  }

  /** One look (serialized: a tick while one runs waits for it and then runs). */
  tick(): Promise<void> {
    const run = async () => {
      try {
        await this.look();
      } catch (err) {
        this.o.onError?.(err as Error);
      }
    };
    this.running = (this.running ?? Promise.resolve()).then(run);
    return this.running;
  }

  private async look(): Promise<void> {
    if (!this.listeners.size) return;
    const now = this.now();
    const sig = this.o.signature();
    const fresh = [...this.newcomers];
    const stale = (sig !== this.lastSignature && now - this.lastRead >= this.readGap) || now - this.lastRead >= (this.o.rereadMs ?? 30_000);
    if (stale || fresh.length) {
      const p = await this.o.read();
      this.readGap = (this.now() - now) / (this.o.readShare ?? 0.1);
      this.lastSignature = sig;
      this.lastRead = now;
      const d = diffRows(this.last, p.vehicles);
      this.last = d.next;
      for (const send of fresh) this.newcomers.delete(send);
      const full = sseFrame('fleet', { ...p, full: true, removed: [] } satisfies FleetPush);
      for (const send of fresh) if (this.listeners.has(send)) send(full);
      if (d.changed.length || d.removed.length) {
        const frame = sseFrame('fleet', { vehicles: d.changed, online: p.online, offline_after_ms: p.offline_after_ms, full: false, removed: d.removed } satisfies FleetPush);
        for (const send of this.listeners) if (!fresh.includes(send)) send(frame);
        this.lastSent = now;
      }
    }
    if (now - this.lastSent >= (this.o.keepaliveMs ?? 15_000)) {
      for (const send of this.listeners) send(': keepalive\n\n');
      this.lastSent = now;
    }
  }

  /** The next look, while anyone listens (one wait at a time). */
  private arm(): void {
    if (this.ticker !== null || !this.listeners.size) return;
    this.ticker = this.o.timer.set(() => {
      this.ticker = null;
      void this.tick().then(() => this.arm());
    }, this.o.tickMs ?? 1000);
  }

  private stop(): void {
    if (this.ticker !== null) this.o.timer.clear(this.ticker);
    this.ticker = null;
  }

  /** Ends every listener's stream (the server is closing). */
  close(end: (send: Send) => void = () => {}): void {
    for (const s of this.listeners) end(s);
    this.listeners.clear();
    this.newcomers.clear();
    this.stop();
  }
}
