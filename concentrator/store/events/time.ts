// When a switch happened, as HQ stores it (pure): the vehicle's `at` corrected by its monotonic clock, or marked.
//
// A vehicle without a battery-backed clock boots in the past; NTP steps its clock later, often after the agent
// started, and may step it back. Its `at`s are then wrong, or out of order. Each event carries the moment on the
// agent's monotonic clock (`mono`: a timeline, one per agent process, and ms on it) and each batch the agent's clocks
// as it sent (`sent`: wall and mono). On the same timeline, sent.mono - event.mono is how long before the batch left
// the switch happened, whatever the wall clock did in between; HQ subtracts it from its own receive time.
import type { SentClock, SwitchEvent } from '../../../shared/wire/switch-event.js';

/**
 * How far the vehicle's `at` may be from HQ's reckoning and still be kept as it is: the request's transit, queueing
 * and NTP's own error fit well within it; a clock set wrong by a step is far beyond it.
 */
export const CLOCK_BOUND_MS = 5_000;

/** With nothing known of the vehicle's clock (an older agent), an `at` this far past HQ's receive time still stands. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

/**
 * - `ok`: checked against HQ's clock (same agent run), within CLOCK_BOUND_MS: `at` is the vehicle's.
 * - `corrected`: checked, and the vehicle's clock was off: `at` is HQ's reckoning (receive time - monotonic elapsed).
 * - `estimated`: not checkable (from an earlier agent run, or an older agent) and the vehicle's clock is off now (or
 *   the time is in the future): `at` is the vehicle's shifted by today's offset, and no later than receipt. Unreliable.
 * - `unchecked`: not checkable, and nothing says it is wrong: `at` is the vehicle's.
 */
export type TimeQuality = 'ok' | 'corrected' | 'estimated' | 'unchecked';
export const TIME_QUALITIES: readonly TimeQuality[] = ['ok', 'corrected', 'estimated', 'unchecked'];

/** The mark after a time in `roamlink log` and the dashboard: `~` corrected by HQ, `?` estimated (unreliable). */
export const TIME_MARK: Record<TimeQuality, string> = { ok: '', corrected: '~', estimated: '?', unchecked: '' };

export interface EventTime {
  /** HQ's best time for the event (ms since the epoch): what the log shows, filters and sorts vehicles by. */
  at: number;
  /** The vehicle's own `at`, as sent. */
  vehicleAt: number;
  quality: TimeQuality;
  /** HQ's time minus the vehicle's, for this event (checked) or the vehicle's clock now (estimated); null: unknown. */
  offsetMs: number | null;
}

/** The vehicle's clock as HQ last saw it: from this batch's `sent`, else from its latest heartbeat. */
export interface VehicleClock {
  /** HQ's receive time minus the vehicle's wall clock then (ms). */
  offsetMs: number;
  /** The agent's monotonic clock then, when known (sent with the batch); `receivedAt` is HQ's time at that moment. */
  mono?: { timeline: string; ms: number; receivedAt: number };
}

/** From a batch's `sent` and HQ's receive time. */
export function clockOfBatch(sent: SentClock, receivedAt: number): VehicleClock {
  return { offsetMs: receivedAt - Date.parse(sent.wall), mono: { timeline: sent.mono.timeline, ms: sent.mono.ms, receivedAt } };
}

const round = (x: number) => Math.round(x);

/** HQ's time for one event received at `receivedAt`, given the vehicle's clock (null: nothing known of it). */
export function eventTime(e: Pick<SwitchEvent, 'at' | 'mono'>, clock: VehicleClock | null, receivedAt: number): EventTime {
  const vehicleAt = Date.parse(e.at);
  const m = clock?.mono;
  if (e.mono && m && e.mono.timeline === m.timeline && e.mono.ms <= m.ms) {
    const reckoned = m.receivedAt - (m.ms - e.mono.ms);
    const offsetMs = round(reckoned - vehicleAt);
    return Math.abs(offsetMs) <= CLOCK_BOUND_MS
      ? { at: vehicleAt, vehicleAt, quality: 'ok', offsetMs }
      : { at: round(reckoned), vehicleAt, quality: 'corrected', offsetMs };
  }
  const off = clock?.offsetMs ?? 0;
  if (Math.abs(off) > CLOCK_BOUND_MS || vehicleAt + off > receivedAt + (clock ? CLOCK_BOUND_MS : MAX_FUTURE_SKEW_MS)) {
    // It cannot have happened after HQ received it.
    return { at: Math.min(round(vehicleAt + off), receivedAt), vehicleAt, quality: 'estimated', offsetMs: clock ? round(off) : null };
  }
  return { at: vehicleAt, vehicleAt, quality: 'unchecked', offsetMs: null };
}
