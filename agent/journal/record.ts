// From the arbiter's SwitchRecord to the switch event the journal keeps and HQ stores (pure).
import type { SwitchRecord } from '../machines/arbiter.machine.js';
import type { NewSwitchEvent } from './journal.js';

export interface EventContext {
  vehicle: string;
  /** The site the vehicle is at (matched from the AP in use), if known. */
  site: string | null;
  /** Signal (dBm) of an uplink when the switch was decided: Wi-Fi RSSI, LTE RSRP. */
  signalOf?: (uplink: string) => number | null | undefined;
  /** Probe loss (0..1) of an uplink, when measured. */
  lossOf?: (uplink: string) => number | null | undefined;
  /** Which threshold or rule fired, in words. */
  why?: string | null;
}

const finite = (x: number | null | undefined, min = -Infinity, max = Infinity): number | null =>
  typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max ? x : null;

export function switchEventFrom(r: SwitchRecord, c: EventContext): NewSwitchEvent {
  return {
    id: r.id,
    vehicle: c.vehicle,
    at: new Date(r.decided_at).toISOString(),
    from: r.from,
    to: r.to,
    reason: r.reason,
    why: c.why ?? null,
    ms_to_first_packet: finite(r.ms_to_first_packet, 0, 600_000),
    gap_ms: null,
    site: c.site,
    candidates: r.candidates.map((u) => ({
      name: u.name,
      phase: u.phase,
      ready: u.ready,
      signal: finite(c.signalOf?.(u.name), -150, 0),
      rtt_ms: finite(u.rttMs, 0, 600_000),
      loss: finite(c.lossOf?.(u.name), 0, 1),
      score: null,
    })),
  };
}
