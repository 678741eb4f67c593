// The selection policy, defined once: every threshold a site profile or the agent config may set, with its unit, range and default.
import { z } from 'zod';

/*
 * One table, three uses:
 *   policySchema          the whole policy, every field filled (defaults): what the agent runs (type Policy, z.infer)
 *   policyOverridesSchema every field optional, checked against each other on the effective values: a site's profile
 *                         (shared/wire/site-profile.ts) and the agent config's `policy` (shared/config/agent.ts)
 *   policyWith(overrides) the defaults with overrides: the arbiter's and the uplinks' policy (agent/sites/apply.ts)
 * A field belongs here only if the agent applies it: the arbiter's decision (agent/policy/choose.ts) reads the
 * thresholds, the uplink machines (agent/machines/uplink.machine.ts) read min_signal and the probe and scan timing.
 * Each field has a test showing that changing it changes behaviour (test/unit/policy.fields.test.ts).
 */

export type PolicyUnit = 'dBm' | 'dB' | 'ms' | 'fraction' | 'choice' | 'packets';

const ms = (min: number, max: number) =>
  z.number().int('must be whole milliseconds').min(min, `must be ≥ ${min} ms`).max(max, `must be ≤ ${max} ms`);
const dbm = (min: number, max: number) => z.number().min(min, `must be ≥ ${min} dBm`).max(max, `must be ≤ ${max} dBm`);

export const LTE_PREFERENCES = ['fallback', 'last-resort', 'never'] as const;
export const REDUNDANCY_MODES = ['off', 'risk', 'always'] as const;
export type RedundancyMode = (typeof REDUNDANCY_MODES)[number];
export type LtePreference = (typeof LTE_PREFERENCES)[number];

interface FieldSpec<S extends z.ZodType> {
  schema: S;
  default: z.output<S>;
  unit: PolicyUnit;
  /** What it means, for the CLI's and the dashboard's help. */
  doc: string;
}
const field = <S extends z.ZodType>(schema: S, dflt: z.output<S>, unit: PolicyUnit, doc: string): FieldSpec<S> => ({ schema, default: dflt, unit, doc });

/** Every policy field: its range (the schema), default, unit and meaning. */
export const POLICY_SPEC = {
  min_signal: field(dbm(-110, -30), -85, 'dBm', 'a Wi-Fi AP weaker than this is not joined or kept (a connect-list entry may ask more)'),
  switch_below: field(dbm(-110, -30), -75, 'dBm', 'an active Wi-Fi below this (for below_ms) is not good enough'),
  hysteresis_db: field(z.number().min(0, 'must be ≥ 0 dB').max(40, 'must be ≤ 40 dB'), 5, 'dB', 'how much better a standby must be (and how far above switch_below to leave LTE)'),
  below_ms: field(ms(0, 60_000), 1000, 'ms', 'how long the active must stay below switch_below before the signal rules act'),
  hold_ms: field(ms(0, 60_000), 3000, 'ms', 'how long a standby must stay better by hysteresis_db before it is taken'),
  dwell_ms: field(ms(0, 600_000), 5000, 'ms', 'after a switch, only failures and the operator move the tunnel for this long'),
  hold_down_ms: field(ms(0, 3_600_000), 30_000, 'ms', 'an uplink that failed (carrier loss, blackhole, loss) is not taken again for this long'),
  dead_busy_ms: field(ms(50, 10_000), 400, 'ms', 'silence on the active path (no probe reply, no tunnel packet) that means dead while traffic flows'),
  dead_idle_ms: field(ms(100, 60_000), 1200, 'ms', 'silence on the active path that means dead when idle'),
  dead_packets: field(z.number().int('must be a whole number of packets').min(0, 'must be ≥ 0 packets (0: no fast check)').max(100_000, 'must be ≤ 100000 packets'), 20, 'packets',
    'fast check (0: off): the active silent for the time this many of its packets take (at the rate they came back; 20 ms at 1000 packets/s) while traffic flows: it, then the standbys, are probed at once'),
  dead_fast_ms: field(ms(5, 10_000), 40, 'ms',
    'fast check: the active\'s probe sent since its silence began, unanswered this long (or 3 of its RTTs if longer) while another path answers: dead'),
  busy_window_ms: field(ms(10, 10_000), 250, 'ms', 'traffic counts as flowing when the tunnel sent a packet within this'),
  loss_max: field(z.number().min(0, 'must be ≥ 0').max(1, 'must be ≤ 1'), 0.3, 'fraction', 'probe loss (0..1) from which an uplink is degraded: the active is left, a standby not taken'),
  forced_hold_ms: field(ms(0, 86_400_000), 60_000, 'ms', 'how long an operator-forced switch pins the chosen uplink (failures still move it)'),
  lte: field(z.enum(LTE_PREFERENCES, { message: 'must be fallback, last-resort or never' }), 'fallback' as LtePreference, 'choice',
    'LTE carries the tunnel: fallback (no Wi-Fi good enough), last-resort (no Wi-Fi usable), never (only when forced)'),
  redundancy: field(z.enum(REDUNDANCY_MODES, { message: 'must be off, risk or always' }), 'risk' as RedundancyMode, 'choice',
    'copies of the tunnel\'s outer packets through the best ready standby Wi-Fi (LTE within lte_budget when none can): off, risk (while the active is at risk: risk_signal, risk_loss, risk_rtt_ms) or always'),
  risk_signal: field(dbm(-110, -30), -70, 'dBm', 'an active Wi-Fi below this is at risk (redundancy: risk); it has passed at risk_signal + hysteresis_db'),
  risk_loss: field(z.number().min(0, 'must be ≥ 0').max(1, 'must be ≤ 1'), 0.1, 'fraction', 'an active whose probe loss (0..1) reaches this is at risk'),
  risk_rtt_ms: field(ms(1, 60_000), 400, 'ms', 'an active whose smoothed probe RTT reaches this is at risk'),
  risk_off_ms: field(ms(0, 600_000), 3000, 'ms', 'redundancy stays on this long after the risk has passed (and at least this long once on)'),
  probe_interval_ms: field(ms(50, 60_000), 1000, 'ms', 'how often a standby uplink is probed through its own path (and the active while tunnel packets come back)'),
  probe_timeout_ms: field(ms(10, 10_000), 500, 'ms', 'a probe unanswered for this long is lost'),
  scan_interval_ms: field(ms(500, 600_000), 3000, 'ms', 'how often a standby radio rescans for a better allowed AP (the active: 10 times slower)'),
} as const;

type Spec = typeof POLICY_SPEC;
export type PolicyField = keyof Spec;
export const POLICY_FIELDS = Object.keys(POLICY_SPEC) as PolicyField[];

const shape = Object.fromEntries(POLICY_FIELDS.map((k) => [k, POLICY_SPEC[k].schema])) as { [K in PolicyField]: Spec[K]['schema'] };
const withDefaults = Object.fromEntries(POLICY_FIELDS.map((k) => [k, (POLICY_SPEC[k].schema as z.ZodType).default(POLICY_SPEC[k].default as never)])) as {
  [K in PolicyField]: z.ZodDefault<Spec[K]['schema']>;
};

/** Each field's own schema (range and message), for callers that check one field (`roamlink site set k=v`). */
export const policyShape = shape;

/** The whole policy, defaults filled. */
export const policySchema = z.strictObject(withDefaults);
export type Policy = z.infer<typeof policySchema>;
export type PolicyOverrides = Partial<Policy>;

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze(policySchema.parse({}));

/** The defaults with overrides (fields given as undefined keep the default). */
export function policyWith(overrides: PolicyOverrides = {}): Policy {
  const out: Record<string, unknown> = { ...DEFAULT_POLICY };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out[k] = v;
  return out as Policy;
}

/** Rules between fields, checked on the effective values (so overrides cannot contradict a default either). */
export function checkPolicy(p: PolicyOverrides, ctx: z.RefinementCtx, base: Readonly<Policy> = DEFAULT_POLICY): void {
  const e = { ...base, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) } as Policy;
  const bad = (f: PolicyField, message: string) => ctx.addIssue({ code: 'custom', path: [f], message });
  const blame = (a: PolicyField, b: PolicyField) => (p[a] !== undefined ? a : b);
  if (e.min_signal > e.switch_below) bad(blame('min_signal', 'switch_below'), `min_signal (${e.min_signal}) must be ≤ switch_below (${e.switch_below})`);
  if (e.dead_busy_ms > e.dead_idle_ms) bad(blame('dead_busy_ms', 'dead_idle_ms'), `dead_busy_ms (${e.dead_busy_ms}) must be ≤ dead_idle_ms (${e.dead_idle_ms})`);
  if (e.dead_fast_ms > e.dead_busy_ms) bad(blame('dead_fast_ms', 'dead_busy_ms'), `dead_fast_ms (${e.dead_fast_ms}) must be ≤ dead_busy_ms (${e.dead_busy_ms})`);
  if (e.busy_window_ms > e.dead_busy_ms) bad(blame('busy_window_ms', 'dead_busy_ms'), `busy_window_ms (${e.busy_window_ms}) must be ≤ dead_busy_ms (${e.dead_busy_ms})`);
  if (e.risk_signal < e.switch_below) bad(blame('risk_signal', 'switch_below'), `risk_signal (${e.risk_signal}) must be ≥ switch_below (${e.switch_below}): the risk comes before the switch`);
  if (e.risk_loss > e.loss_max) bad(blame('risk_loss', 'loss_max'), `risk_loss (${e.risk_loss}) must be ≤ loss_max (${e.loss_max})`);
  if (e.probe_timeout_ms >= e.probe_interval_ms) bad(blame('probe_timeout_ms', 'probe_interval_ms'), `probe_timeout_ms (${e.probe_timeout_ms}) must be < probe_interval_ms (${e.probe_interval_ms})`);
}

/** Overrides of the defaults: every field optional, unknown fields refused (a field the agent cannot apply is never stored). */
export const policyOverridesSchema = z.strictObject(shape).partial().superRefine((p, ctx) => checkPolicy(p, ctx));

/**
 * How often the ACTIVE uplink must be probed for the blackhole rule to hold without false alarms: 8 probes fit in
 * the busy window and 6 in the idle one, so a healthy link losing 5% of its probes would need 6-8 losses in a row
 * (odds under 1e-7 per probe) to look dead. Defaults: 50 ms while traffic flows, 200 ms idle. Tunnel packets
 * received count as life too, so bidirectional traffic needs fewer probes.
 */
export function activeProbeIntervalMs(policy: Pick<Policy, 'dead_busy_ms' | 'dead_idle_ms'>, busy: boolean): number {
  return Math.floor(busy ? policy.dead_busy_ms / 8 : policy.dead_idle_ms / 6);
}

/** A Wi-Fi AP's floor: its connect-list entry's min_signal, raised to the policy's min_signal. */
export function signalFloor(entryMin: number, policy: Pick<Policy, 'min_signal'>): number {
  return Math.max(entryMin, policy.min_signal);
}
