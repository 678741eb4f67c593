// The arbiter's thresholds (a site's threshold profile fills them) and their defaults, with what each one means.

export type LtePreference =
  /** LTE carries the tunnel while no allowed Wi-Fi is good enough (at or above switch_below). */
  | 'fallback'
  /** LTE only when no Wi-Fi is usable at all, however weak. */
  | 'last-resort'
  /** Never, unless an operator forces it. */
  | 'never';

export interface Policy {
  /** dBm: an active Wi-Fi below this (for below_ms) is not good enough. */
  switch_below: number;
  /** dB: how much better a standby must be (and how far above switch_below to leave LTE). */
  hysteresis_db: number;
  /** ms the active must stay below switch_below before the signal rules act (one noisy sample is not a reason). */
  below_ms: number;
  /** ms a standby must stay better by hysteresis_db before it is taken. */
  hold_ms: number;
  /** ms after a switch during which only failures (carrier loss, blackhole) and the operator move the tunnel. */
  dwell_ms: number;
  /** ms an uplink that failed (carrier loss, blackhole, loss) is not taken again. */
  hold_down_ms: number;
  /** ms of silence on the active path (no probe reply, no tunnel packet) that means dead while traffic flows. */
  dead_busy_ms: number;
  /** ms of silence that means dead when idle. */
  dead_idle_ms: number;
  /** Traffic counts as flowing when the tunnel sent a packet within this many ms. */
  busy_window_ms: number;
  /** Probe loss (0..1) from which an uplink is degraded: the active is left, a standby is not taken. */
  loss_max: number;
  /** ms an operator-forced switch pins the chosen uplink (failures still move it). */
  forced_hold_ms: number;
  lte: LtePreference;
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  switch_below: -75,
  hysteresis_db: 5,
  below_ms: 1000,
  hold_ms: 3000,
  dwell_ms: 5000,
  hold_down_ms: 30_000,
  dead_busy_ms: 400,
  dead_idle_ms: 1200,
  busy_window_ms: 250,
  loss_max: 0.3,
  forced_hold_ms: 60_000,
  lte: 'fallback',
});

/** The defaults with a profile's overrides. */
export function policyWith(overrides: Partial<Policy> = {}): Policy {
  return { ...DEFAULT_POLICY, ...overrides };
}

/**
 * How often the ACTIVE uplink must be probed for the blackhole rule to hold without false alarms: 8 probes fit in
 * the busy window and 6 in the idle one, so a healthy link losing 5% of its probes would need 6-8 losses in a row
 * (odds under 1e-7 per probe) to look dead. Defaults: 50 ms while traffic flows, 200 ms idle. Tunnel packets
 * received count as life too, so bidirectional traffic needs fewer probes.
 */
export function activeProbeIntervalMs(policy: Policy, busy: boolean): number {
  return Math.floor(busy ? policy.dead_busy_ms / 8 : policy.dead_idle_ms / 6);
}
