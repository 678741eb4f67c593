// The heartbeat: every few seconds the agent tells HQ its uplinks, the active one, its site, balance and counters.
import type { Heartbeat, HeartbeatInput, HeartbeatReply, UplinkReport } from '../../shared/wire/heartbeat.js';
import type { Timer } from '../../shared/clock.js';
import type { HostHealth } from '../../shared/wire/host-health.js';

/** What the agent knows of an uplink, as the heartbeat needs it (the uplink machine's status has all of it). */
export interface UplinkFacts {
  name: string;
  kind: UplinkReport['kind'];
  phase: string;
  ready: boolean;
  rttMs: number | null;
  ap: { ssid: string; bssid: string; signal: number } | null;
}

export interface HeartbeatFacts {
  vehicle: string;
  now: number;
  active: string | null;
  site: string | null;
  uplinks: UplinkFacts[];
  /** Signal of uplinks without an AP (LTE RSRP from the modem), by name. */
  signal?: (uplink: string) => number | null | undefined;
  loss?: (uplink: string) => number | null | undefined;
  counters?: (ifname: string) => { rx_bytes: number; tx_bytes: number } | null;
  modem?: Heartbeat['modem'];
  backlog: number;
  sitesVersion: number | null;
  /** The latest host health sample; undefined: the field is left out (an HQ that has not said it takes it). */
  health?: HostHealth | null;
}

const inRange = (x: number | null | undefined, min: number, max: number) => (typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max ? x : null);

/** Builds the heartbeat from what the agent knows (pure). */
export function heartbeatFrom(f: HeartbeatFacts): HeartbeatInput {
  return {
    vehicle: f.vehicle,
    at: new Date(f.now).toISOString(),
    active: f.active,
    site: f.site,
    uplinks: f.uplinks.map((u) => {
      const c = f.counters?.(u.name) ?? null;
      return {
        name: u.name, kind: u.kind, state: u.phase, ready: u.ready,
        signal: inRange(u.ap?.signal ?? f.signal?.(u.name), -150, 0),
        rtt_ms: inRange(u.rttMs, 0, 600_000),
        loss: inRange(f.loss?.(u.name), 0, 1),
        ap: u.ap ? { ssid: u.ap.ssid.slice(0, 32), bssid: u.ap.bssid } : null,
        rx_bytes: c?.rx_bytes ?? null,
        tx_bytes: c?.tx_bytes ?? null,
      };
    }),
    modem: f.modem ?? null,
    journal_backlog: f.backlog,
    sites_version: f.sitesVersion,
    ...(f.health !== undefined ? { health: f.health } : {}),
  };
}

export interface HeartbeatSenderDeps {
  collect: () => HeartbeatInput;
  send: (hb: HeartbeatInput, signal: AbortSignal) => Promise<HeartbeatReply>;
  timer: Timer;
  intervalMs: number;
  onReply?: (r: HeartbeatReply) => void;
  onError?: (err: Error) => void;
}

/** Sends a heartbeat now, then `intervalMs` after each one completes (a lost heartbeat is not resent: the next says more). */
export class HeartbeatSender {
  private handle: unknown = null;
  private stopped = false;
  private readonly ac = new AbortController();
  private inflight: Promise<void> | null = null;

  constructor(private readonly d: HeartbeatSenderDeps) {}

  start(): void {
    this.tick();
  }

  /** Sends one now (e.g. right after a switch), keeping the rhythm from then on. */
  now(): void {
    if (this.stopped || this.inflight) return;
    this.d.timer.clear(this.handle);
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.d.timer.clear(this.handle);
    this.ac.abort();
    await this.inflight?.catch(() => {});
  }

  private tick(): void {
    if (this.stopped) return;
    this.handle = null;
    this.inflight = (async () => {
      try {
        const reply = await this.d.send(this.d.collect(), this.ac.signal);
        this.d.onReply?.(reply);
      } catch (err) {
        if (!this.stopped) this.d.onError?.(err as Error);
      } finally {
        this.inflight = null;
        if (!this.stopped) this.handle = this.d.timer.set(() => this.tick(), this.d.intervalMs);
      }
    })();
  }
}
