// Why a switch happened: the one list of reason words, with what each means and where to look. Everything else reads it.
/*
 * Used by the policy (agent/policy/choose.ts's Rule), the wire schema (shared/wire/switch-event.ts, a zod enum), the
 * switch log's filters (concentrator/admin/log-query.ts), `roamlink log --reason`'s help, the dashboard (served as
 * /reasons.js) and the operator's guide (docs/operator-guide.md §7, checked by test/unit/reasons.test.ts).
 * A new reason is added here, and an agent that sends it needs an HQ that knows it (HQ upgrades first).
 */

export interface ReasonInfo {
  /** What happened, for people. */
  means: string;
  /** What to look at, or the setting that tunes it. */
  look: string;
}

export const SWITCH_REASONS = {
  initial: { means: 'the first uplink after start', look: '—' },
  'carrier-loss': { means: 'the active uplink lost its link (left the AP, modem detached)', look: 'coverage at that place' },
  blackhole: {
    means: 'the active path went silent: no probe reply, no tunnel packet for `dead_busy_ms` (traffic flowing) or `dead_idle_ms`',
    look: "the AP's backhaul, the carrier",
  },
  loss: { means: 'the active lost `loss_max` or more of its probes', look: "the AP's backhaul; raise `loss_max` for a lossy but usable AP" },
  forced: { means: '`roamlink switch UPLINK` on the vehicle (the operator); pins it for `forced_hold_ms`', look: 'who did it' },
  'lte-fallback': { means: 'the active Wi-Fi stayed below `switch_below` for `below_ms` and no other Wi-Fi was good enough: LTE', look: "the site's `lte` setting" },
  signal: { means: 'the active Wi-Fi stayed below `switch_below` for `below_ms`; another Wi-Fi was at least `hysteresis_db` above it', look: 'signal of every candidate in the why' },
  better: { means: 'a standby Wi-Fi stayed better by `hysteresis_db` for `hold_ms`', look: 'too many of them: raise `hysteresis_db` or `hold_ms`' },
  'leave-lte': { means: 'LTE was active and a Wi-Fi became good enough again (`switch_below` + `hysteresis_db`)', look: "the site's `lte` setting" },
  watchdog: {
    means: "the active uplink failed the watchdog's checks (hosts at HQ, DNS) `watchdog.failures` rounds in a row; it is reconnected after the switch",
    look: "the agent's `watchdog.round` and `watchdog.acted` log lines",
  },
} as const satisfies Record<string, ReasonInfo>;

export type SwitchReason = keyof typeof SWITCH_REASONS;

/** The reason words, in the guide's order. */
export const REASONS = Object.keys(SWITCH_REASONS) as [SwitchReason, ...SwitchReason[]];

export function isReason(s: string): s is SwitchReason {
  return Object.hasOwn(SWITCH_REASONS, s);
}
