// A lab link's behaviour (delay, jitter, loss, rate) as a scenario gives it: presets, the zod schema, and its timeline.
import { z } from 'zod';

/*
 * Each direction of a link delays, jitters, drops and paces its packets alike (the values are per direction: a
 * round trip sees twice the delay). Meanings, which the emulator (lab/link/) and its bench (bench/links.ts) keep:
 * - delay_ms: the median one-way delay the link adds.
 * - jitter_ms: the standard deviation of that delay. The delay wanders smoothly (a new random target every few
 *   tens of ms, linear in between), so packets keep their order, as a radio link's in-order delivery keeps it.
 * - loss: the share of packets dropped, each on its own (0.01 = 1 %).
 * - rate_mbit: the link's rate, a token bucket (the kernel's TBF); null: unlimited.
 */
export interface LinkParams {
  delay_ms: number;
  jitter_ms: number;
  loss: number;
  rate_mbit: number | null;
}

/** The two kinds of lab link: an access point's (Wi-Fi) and the carrier's (LTE). */
export type LinkKind = 'wifi' | 'lte';

export const IDEAL_LINK: LinkParams = Object.freeze({ delay_ms: 0, jitter_ms: 0, loss: 0, rate_mbit: null });

/**
 * Realistic defaults. Wi-Fi: a few ms one way with little jitter, 0.1 % residual loss after the MAC's retries, 50 Mbit/s
 * (a good 802.11n/ac link as a vehicle sees it). LTE: 25 ms each way (a 50 ms round trip, the middle of LTE's usual
 * 30-80 ms), 8 ms of jitter (scheduling and HARQ retries), 1 % loss each way, 20 Mbit/s.
 */
export const REALISTIC_LINK: Readonly<Record<LinkKind, LinkParams>> = Object.freeze({
  wifi: Object.freeze({ delay_ms: 4, jitter_ms: 1, loss: 0.001, rate_mbit: 50 }),
  lte: Object.freeze({ delay_ms: 25, jitter_ms: 8, loss: 0.01, rate_mbit: 20 }),
});

/** A link's behaviour over the scenario's time: [ms, params] steps, times ascending; the first holds from the start. */
export type LinkTimeline = ReadonlyArray<readonly [number, LinkParams]>;

const PRESETS = ['realistic', 'ideal'] as const;
type Preset = (typeof PRESETS)[number];

function presetParams(kind: LinkKind, p: Preset): LinkParams {
  return p === 'ideal' ? { ...IDEAL_LINK } : { ...REALISTIC_LINK[kind] };
}

const ms = (max: number) =>
  z
    .number({ error: (iss) => (iss.code === 'invalid_type' ? 'expected a number of ms' : undefined) })
    .nonnegative({ error: 'must not be negative' })
    .max(max, { error: `at most ${max}` });

const presetSchema = z.enum(PRESETS, { error: `expected ${PRESETS.join(' or ')}, { delay_ms, jitter_ms, loss, rate_mbit } or a list of [time, link] steps` });

/** One setting: fields not given come from `base` (default realistic), or, in a later step of a timeline, from the step before. */
const settingSchema = z.strictObject({
  base: presetSchema.optional(),
  delay_ms: ms(10_000).optional(),
  jitter_ms: ms(5_000).optional(),
  loss: z
    .number({ error: (iss) => (iss.code === 'invalid_type' ? 'expected a share of packets from 0 to 1, e.g. 0.01 for 1 %' : undefined) })
    .min(0, { error: 'must be from 0 to 1 (a share: 0.01 is 1 %)' })
    .max(1, { error: 'must be from 0 to 1 (a share: 0.01 is 1 %)' })
    .optional(),
  rate_mbit: z
    .number({ error: (iss) => (iss.code === 'invalid_type' ? 'expected Mbit/s, or null for unlimited' : undefined) })
    .min(0.1, { error: 'at least 0.1 (Mbit/s)' })
    .max(10_000, { error: 'at most 10000 (Mbit/s)' })
    .nullable()
    .optional(),
});
type Setting = Preset | z.output<typeof settingSchema>;

/** A preset or a setting, told apart by type, so a bad field in a setting is reported as itself. */
const settingOrPreset = z.unknown().transform((v, ctx): Setting => {
  const schema = typeof v === 'string' ? presetSchema : v !== null && typeof v === 'object' && !Array.isArray(v) ? settingSchema : null;
  if (!schema) {
    ctx.addIssue({ code: 'custom', message: `expected ${PRESETS.join(' or ')} or { delay_ms, jitter_ms, loss, rate_mbit }` });
    return z.NEVER;
  }
  const r = schema.safeParse(v);
  if (!r.success) {
    for (const iss of r.error.issues) ctx.addIssue({ code: 'custom', path: iss.path, message: iss.message });
    return z.NEVER;
  }
  return r.data;
});

function apply(kind: LinkKind, before: LinkParams | null, s: Setting): LinkParams {
  if (typeof s === 'string') return presetParams(kind, s);
  const from = s.base ? presetParams(kind, s.base) : (before ?? presetParams(kind, 'realistic'));
  const { base: _base, ...given } = s;
  return { ...from, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as LinkParams;
}

/**
 * A scenario's `link` field for a link of this kind: `realistic`, `ideal`, a setting, or a timeline
 * `[[0s, realistic], [20s, { loss: 0.2 }], [25s, realistic]]` (steps; each setting is merged over the step before).
 * Parsed into a LinkTimeline whose settings are whole, so parsing it again gives the same.
 */
export function linkSchema(kind: LinkKind, timeMs: z.ZodType<number, unknown>) {
  const step = z.tuple([timeMs, settingOrPreset], { error: (iss) => (iss.code === 'invalid_type' ? 'expected [time, link]' : undefined) });
  const timeline = z
    .array(step)
    .min(1, { error: 'needs at least one [time, link] step' })
    .superRefine((steps, ctx) => {
      for (let i = 1; i < steps.length; i++) {
        if (steps[i]![0] < steps[i - 1]![0]) ctx.addIssue({ code: 'custom', path: [i], message: `times must ascend: ${steps[i]![0]}ms comes after ${steps[i - 1]![0]}ms` });
      }
    });
  return z.unknown().transform((v, ctx): LinkTimeline => {
    const r = Array.isArray(v) ? timeline.safeParse(v) : settingOrPreset.safeParse(v);
    if (!r.success) {
      for (const iss of r.error.issues) ctx.addIssue({ code: 'custom', path: iss.path, message: iss.message });
      return z.NEVER;
    }
    const steps: Array<readonly [number, Setting]> = Array.isArray(v) ? (r.data as Array<[number, Setting]>) : [[0, r.data as Setting]];
    const out: Array<readonly [number, LinkParams]> = [];
    let before: LinkParams | null = null;
    for (const [t, s] of steps) {
      before = apply(kind, before, s);
      out.push([t, before]);
    }
    return out;
  });
}

/** The link's setting at tMs: the last step at or before it (the first step before it starts). */
export function linkAt(timeline: LinkTimeline, tMs: number): LinkParams {
  if (timeline.length === 0) return { ...IDEAL_LINK };
  let cur = timeline[0]![1];
  for (const [t, p] of timeline) {
    if (t <= tMs) cur = p;
    else break;
  }
  return cur;
}

/** "25±8 ms, 1 % loss, 20 Mbit/s" for people. */
export function describeLink(p: LinkParams): string {
  const delay = p.jitter_ms ? `${p.delay_ms}±${p.jitter_ms} ms` : `${p.delay_ms} ms`;
  return `${delay}, ${+(p.loss * 100).toFixed(3)} % loss, ${p.rate_mbit === null ? 'unlimited' : `${p.rate_mbit} Mbit/s`}`;
}
