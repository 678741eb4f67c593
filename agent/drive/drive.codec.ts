// A drive's change-only lines (shared/wire/drive.ts), pure: the arbiter's events to lines (recording) and back (replay).
import type { UplinkReport } from '../machines/uplink.machine.js';
import { LOSS_WINDOW } from '../machines/probe.stats.js';
import type { TunnelSeen } from '../machines/arbiter.decide.js';
import type { CountersLine, DriveHeader, StatusLine } from '../../shared/wire/drive.js';

type Flat = Omit<StatusLine, 't' | 'e' | 'n'>;
type FlatCounters = Omit<CountersLine, 't' | 'e'>;

/** Segment time: whole ms since the segment's start (t0, on the agent's monotonic clock). */
const seg = (t0: number, x: number) => Math.round(x - t0);

/** The fields of a status the arbiter reads, times counted back from t (so an unchanged age writes nothing). */
export function flatStatus(u: UplinkReport, t0: number, t: number): Flat {
  const back = (x: number | null | undefined) => (x === null || x === undefined ? null : t - seg(t0, x));
  const f = u.probe.failing;
  return {
    ph: u.phase,
    c: u.carrier,
    a: u.lease?.address ?? null,
    r: u.ready,
    ad: u.addressed,
    s: u.signal,
    q: u.probe.rtt_ms === null ? null : Math.round(u.probe.rtt_ms),
    l: Math.round(u.probe.loss * 10_000) / 10_000,
    pn: u.probe.probes,
    lo: u.probe.rtt_low_ms ?? null,
    ks: back(u.probe.last_ok_sent_at),
    fp: back(f?.prev_at),
    k: back(u.probe.last_ok_at),
    i: back(u.probe.in_flight_since),
    f: f ? [back(f.since)!, back(f.last_at)!, ...f.lost_before.map((x) => back(x)!)] : null,
    m: u.misses,
    ap: u.ap ? [u.ap.ssid, u.ap.bssid, u.ap.signal, u.ap.entry ?? null] : null,
    rd: u.radio,
    ro: u.role,
    am: u.addressing,
  };
}

function flatCounters(s: TunnelSeen, t0: number, t: number): FlatCounters {
  const back = (x: number | null) => (x === null ? null : t - seg(t0, x));
  return { ra: back(s.readAt), rx: back(s.last_rx_at), tx: back(s.last_tx_at), mv: (s.rx_moving ? 1 : 0) + (s.tx_moving ? 2 : 0), rr: s.rx_rate ?? null };
}

/** The keys whose values differ (arrays compared whole). */
function changed<T extends object>(prev: T | undefined, next: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(next) as Array<[keyof T, T[keyof T]]>) {
    const p = prev?.[k];
    if (prev === undefined || (Array.isArray(v) || Array.isArray(p) ? JSON.stringify(v) !== JSON.stringify(p) : v !== p)) out[k] = v;
  }
  return out;
}

/** Turns the arbiter's events into change-only lines; remembers what each uplink and the counters last said. */
export class DriveEncoder {
  private readonly last = new Map<string, Flat>();
  private lastCounters: FlatCounters | undefined;
  constructor(readonly t0: number) {}

  time(now: number): number {
    return Math.max(0, seg(this.t0, now));
  }

  status(now: number, u: UplinkReport): StatusLine {
    const t = this.time(now);
    const flat = flatStatus(u, this.t0, t);
    const d = changed(this.last.get(u.name), flat);
    this.last.set(u.name, flat);
    return { t, e: 'u', n: u.name, ...d };
  }

  counters(now: number, s: TunnelSeen): CountersLine {
    const t = this.time(now);
    const flat = flatCounters(s, this.t0, t);
    const d = changed(this.lastCounters, flat);
    this.lastCounters = flat;
    return { t, e: 'c', ...d };
  }
}

/** Turns lines back into the arbiter's events, on the segment's clock (t0 = 0). */
export class DriveDecoder {
  private readonly flat = new Map<string, Flat>();
  private counters: FlatCounters = { ra: null, rx: null, tx: null, mv: 0 };
  private readonly uplinks: Map<string, DriveHeader['uplinks'][number]>;
  /** Before version 4 the loss was over the probes sent so far (`pn`), not over the window. */
  private readonly lossOverSent: boolean;
  constructor(header: DriveHeader) {
    this.uplinks = new Map(header.uplinks.map((u) => [u.name, u]));
    this.lossOverSent = header.version < 4;
  }

  /** The uplink's whole status after this line; throws on a line about an uplink the header does not name. */
  status(line: StatusLine): UplinkReport {
    const up = this.uplinks.get(line.n);
    if (!up) throw new Error(`uplink ${line.n} is not in the header's uplinks`);
    const { t, e: _e, n: _n, ...d } = line;
    const f: Flat = { ...this.flat.get(line.n), ...d };
    this.flat.set(line.n, f);
    const at = (back: number | null | undefined) => (back === null || back === undefined ? null : t - back);
    const lastOk = at(f.k);
    const failing = f.f ? { since: t - f.f[0]!, last_at: t - f.f[1]!, lost_before: f.f.slice(2).map((b) => t - b), ...(f.fp != null ? { prev_at: t - f.fp } : {}) } : undefined;
    const loss = this.lossOverSent && f.l !== undefined && f.pn !== undefined ? lossOverWindow(f.l, f.pn) : (f.l ?? 0);
    return {
      name: up.name, slot: up.slot, kind: up.kind, phase: f.ph ?? 'down', carrier: f.c ?? false,
      lease: f.a ? { address: f.a, prefix: 0, router: '', leaseSeconds: 0 } : null,
      ready: f.r ?? false, rttMs: f.q ?? null, lastOkAt: lastOk, misses: f.m ?? 0,
      ap: f.ap ? { ssid: f.ap[0], bssid: f.ap[1], signal: f.ap[2], entry: f.ap[3] } : null,
      addressed: f.ad ?? false,
      probe: {
        rtt_ms: f.q ?? null, loss, last_ok_at: lastOk, ...(f.pn !== undefined ? { probes: f.pn } : {}), ...(failing ? { failing } : {}),
        ...(f.i !== undefined && f.i !== null ? { in_flight_since: t - f.i } : {}),
        ...(f.lo != null ? { rtt_low_ms: f.lo } : {}), ...(f.ks != null ? { last_ok_sent_at: t - f.ks } : {}),
      },
      signal: f.s ?? null, role: f.ro ?? 'standby', radio: f.rd ?? null, addressing: (f.am ?? 'dhcp') as UplinkReport['addressing'],
    };
  }

  tunnel(line: CountersLine): TunnelSeen {
    const { t, e: _e, ...d } = line;
    this.counters = { ...this.counters, ...d };
    const c = this.counters;
    const at = (back: number | null | undefined) => (back === null || back === undefined ? null : t - back);
    return {
      rx: 0, tx: 0, readAt: at(c.ra), last_rx_at: at(c.rx), last_tx_at: at(c.tx), rx_moving: ((c.mv ?? 0) & 1) !== 0, tx_moving: ((c.mv ?? 0) & 2) !== 0,
      ...(c.rr != null ? { rx_rate: c.rr } : {}),
    };
  }
}

/** An older drive's loss (over the `probes` sent so far) as version 4 has it: over the whole window while it fills. */
export function lossOverWindow(lossOverSent: number, probes: number): number {
  if (probes === 0) return lossOverSent;
  return Math.round(lossOverSent * probes) / Math.max(probes, LOSS_WINDOW);
}
