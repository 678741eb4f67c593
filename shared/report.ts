// The lab run's report (design.md §2): its schema, judging the scenario's expect, uplink time, a readable summary.
import { z } from 'zod';
import { describeLink } from './link.js';

// Every object allows fields beyond these: the report may grow, and scripts read it.

export const trafficSchema = z.looseObject({
  pps: z.number(),
  sent: z.number().int(),
  received: z.number().int(),
  lost: z.number().int(),
  duplicates: z.number().int(),
  max_gap_ms: z.number(),
});

export const reportSwitchSchema = z.looseObject({
  /** ms since the run start. */
  at_ms: z.number(),
  from: z.string(),
  to: z.string(),
  reason: z.string(),
  gap_ms: z.number(),
  lost: z.number().int(),
});

export const expectResultSchema = z.looseObject({
  name: z.string(),
  limit: z.number(),
  /** null: nothing measures this limit (an expect name without a rule). */
  actual: z.number().nullable(),
  ok: z.boolean(),
});

export const hqLogEntrySchema = z.looseObject({
  id: z.string(),
  vehicle: z.string(),
  from: z.string(),
  to: z.string(),
  reason: z.string(),
  /** The stored event whole: its why (the line for people, every candidate as the decision saw it), null when the agent sent none. */
  why: z.looseObject({ text: z.string(), candidates: z.array(z.looseObject({ name: z.string() })) }).nullable().optional(),
  /** The agent's journal order (null: none sent); HQ's time for the switch, the vehicle's own, and how good HQ's is. */
  seq: z.number().nullable().optional(),
  at: z.string().optional(),
  vehicle_at: z.string().optional(),
  time_quality: z.enum(['ok', 'corrected', 'estimated', 'unchecked']).optional(),
  clock_offset_ms: z.number().nullable().optional(),
});

/** A fault as the lab applied it, with what it cost: every kind (restarts and operator switches included). */
export const reportFaultSchema = z.looseObject({
  kind: z.string(),
  /** Restarts: which daemon, and how it was stopped (graceful: SIGTERM; kill: SIGKILL). */
  target: z.string().optional(),
  mode: z.string().optional(),
  /** When the scenario asked for it and when the lab applied it, ms since the run start. */
  at_ms: z.number(),
  applied_ms: z.number(),
  /** From the fault to the first packet through after the datagrams it cost; null: nothing came through after it. */
  outage_ms: z.number().nullable(),
  /** Datagrams the fault cost (both directions; the first cluster of losses from the fault on). */
  lost: z.number().int(),
  /** The uplinks it hit, and the one carrying the tunnel then. */
  uplinks: z.array(z.string()),
  active: z.string().nullable(),
  /** Copies of the outer packets went through a standby when it hit (redundancy). */
  redundant: z.boolean().optional(),
  /** The switch that answered it (away from `active`, before the next fault), or null. */
  switch: z.looseObject({ to: z.string(), reason: z.string(), detect_ms: z.number(), ms_to_first_packet: z.number().nullable() }).nullable(),
});

const linkCountsSchema = z.looseObject({ forwarded: z.number().int(), dropped: z.number().int(), overflow: z.number().int() });

/** A lab link as it was: an AP's or the carrier's, each setting it had and when, what its emulator dropped each way. */
export const reportLinkSchema = z.looseObject({
  /** aps[i] or lte. */
  name: z.string(),
  serves: z.string(),
  kind: z.enum(['wifi', 'lte']),
  /** false: a plain wire (the scenario gave it no `link`), its one step ideal. */
  emulated: z.boolean(),
  /** at_ms: the scenario's time; applied_ms: when the lab set it (null: the run ended first). Values per direction. */
  steps: z.array(z.looseObject({
    at_ms: z.number(), applied_ms: z.number().nullable(),
    delay_ms: z.number(), jitter_ms: z.number(), loss: z.number(), rate_mbit: z.number().nullable(),
  })),
  /** What the emulator counted, up (from the vehicle) and down, over the whole run (set-up included). */
  counted: z.looseObject({ up: linkCountsSchema, down: linkCountsSchema }).optional(),
});

export const reportSchema = z.looseObject({
  scenario: z.string(),
  /** Every expect item holds. */
  ok: z.boolean(),
  expect: z.array(expectResultSchema),
  traffic: trafficSchema,
  switches: z.array(reportSwitchSchema),
  /** ms each uplink carried the tunnel. */
  uplink_ms: z.record(z.string(), z.number()),
  /** Per uplink: the bytes its interface sent over the run, and of those the copies sent through it (redundancy). */
  uplinks: z.record(z.string(), z.looseObject({ bytes_sent: z.number(), bytes_redundant: z.number() })).optional(),
  /** The switch log as the concentrator stored it at the end of the run. */
  hq_log: z.array(hqLogEntrySchema),
  /** Every fault the lab applied, in order. */
  faults: z.array(reportFaultSchema).optional(),
  /** Every link of the run (each AP's, the carrier's) and how it behaved. */
  links: z.array(reportLinkSchema).optional(),
});

export type Traffic = z.output<typeof trafficSchema>;
export type ReportSwitch = z.output<typeof reportSwitchSchema>;
export type ExpectResult = z.output<typeof expectResultSchema>;
export type HqLogEntry = z.output<typeof hqLogEntrySchema>;
export type ReportFault = z.output<typeof reportFaultSchema>;
export type ReportLink = z.output<typeof reportLinkSchema>;
export type Report = z.output<typeof reportSchema>;

/** What a run measured, as the expect rules see it. */
export interface Measured {
  traffic: Traffic;
  switches: ReadonlyArray<unknown>;
  /** Every fault with its outage (fault to the first packet through after it; null: never) and what it cost. */
  faults?: ReadonlyArray<{ kind: string; outage_ms: number | null; lost?: number }>;
  /** Entries by which HQ's switch log differs from the agent's switches (missing, doubled, foreign, out of order). */
  hq_log_mismatch?: number;
}

/** The longest outage of the path faults (a fault never recovered from counts as infinite); 0 without faults. */
function outageMax(m: Measured): number {
  const path = (m.faults ?? []).filter((f) => f.kind === 'carrier-loss' || f.kind === 'blackhole');
  return path.reduce((mx, f) => Math.max(mx, f.outage_ms ?? Infinity), 0);
}

/** The restarts (either daemon, either mode): their longest outage (never recovered: infinite) and their loss. */
function restarts(m: Measured) {
  return (m.faults ?? []).filter((f) => f.kind === 'restart');
}
const restartOutageMax = (m: Measured) => restarts(m).reduce((mx, f) => Math.max(mx, f.outage_ms ?? Infinity), 0);
const restartLost = (m: Measured) => restarts(m).reduce((n, f) => n + (f.lost ?? Infinity), 0);
/** The HQ power-offs (two HQs): the longest outage of the cameras' traffic from one (never recovered: infinite). */
const powerOffOutageMax = (m: Measured) => (m.faults ?? []).filter((f) => f.kind === 'power-off').reduce((mx, f) => Math.max(mx, f.outage_ms ?? Infinity), 0);

/** One row per expect name: `max` holds when actual ≤ limit, `min` when actual ≥ limit. A new limit is a new row. */
export const EXPECT_RULES: Readonly<Record<string, { bound: 'max' | 'min'; actual: (m: Measured) => number }>> = {
  lost_max: { bound: 'max', actual: (m) => m.traffic.lost },
  max_gap_ms: { bound: 'max', actual: (m) => m.traffic.max_gap_ms },
  switches_min: { bound: 'min', actual: (m) => m.switches.length },
  switches_max: { bound: 'max', actual: (m) => m.switches.length },
  outage_max_ms: { bound: 'max', actual: outageMax },
  hq_log_mismatch_max: { bound: 'max', actual: (m) => m.hq_log_mismatch ?? Infinity },
  restart_outage_max_ms: { bound: 'max', actual: restartOutageMax },
  restart_lost_max: { bound: 'max', actual: restartLost },
  power_off_outage_max_ms: { bound: 'max', actual: powerOffOutageMax },
};

/**
 * Judges each limit of the scenario's expect, in the scenario's order. A name without a rule fails with
 * actual null: a limit nobody checks must not pass silently (e.g. a misspelt one).
 */
export function evaluateExpect(expect: Readonly<Record<string, number | undefined>>, measured: Measured): ExpectResult[] {
  const out: ExpectResult[] = [];
  for (const [name, limit] of Object.entries(expect)) {
    if (limit === undefined) continue;
    const rule = EXPECT_RULES[name];
    if (!rule) {
      out.push({ name, limit, actual: null, ok: false });
      continue;
    }
    const actual = rule.actual(measured);
    out.push({ name, limit, actual, ok: rule.bound === 'max' ? actual <= limit : actual >= limit });
  }
  return out;
}

/**
 * ms each uplink carried the tunnel over [0, durationMs]: `initialUplink` (null: none yet) until the first switch,
 * then each switch's `to` until the next. Every name in `uplinks`, `initialUplink` and the switches appears, 0 if unused.
 */
export function uplinkTime(
  switches: ReadonlyArray<{ at_ms: number; from: string; to: string }>,
  initialUplink: string | null,
  durationMs: number,
  uplinks: readonly string[] = [],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const u of uplinks) out[u] = 0;
  if (initialUplink !== null) out[initialUplink] = 0;
  for (const s of switches) {
    out[s.from] ??= 0;
    out[s.to] ??= 0;
  }
  const clamp = (t: number) => Math.min(durationMs, Math.max(0, t));
  let current = initialUplink;
  let since = 0;
  for (const s of [...switches].sort((a, b) => a.at_ms - b.at_ms)) {
    const at = clamp(s.at_ms);
    if (current !== null) out[current]! += at - since;
    current = s.to;
    since = at;
  }
  if (current !== null) out[current]! += durationMs - since;
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]!);
  return out;
}

/** Text columns, each as wide as its widest cell; `r` columns align right. */
function columns(rows: string[][], align: ReadonlyArray<'l' | 'r'>, indent = '  '): string[] {
  const width = align.map((_, i) => Math.max(0, ...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((c, i) => (align[i] === 'r' ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd());
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)}s`;

/** The report as people read it at the end of `lab run` and the demo: switches, totals, uplink time, the verdict. */
export function formatSummary(report: Report): string {
  const lines: string[] = [`${report.scenario}: ${report.ok ? '✓ expectations met' : '✗ expectations not met'}`, ''];

  if (report.switches.length === 0) lines.push('  no switches');
  else {
    const rows = [['at', 'switch', 'reason', 'gap', 'lost']];
    for (const s of report.switches) rows.push([seconds(s.at_ms), `${s.from} → ${s.to}`, s.reason, `${s.gap_ms} ms`, String(s.lost)]);
    lines.push(...columns(rows, ['r', 'l', 'l', 'r', 'r']));
  }

  const t = report.traffic;
  lines.push(
    '',
    `  traffic  ${t.pps} pps, ${t.sent} sent, ${t.received} received, ${t.lost} lost, ${t.duplicates} duplicates, max gap ${t.max_gap_ms} ms`,
    `  uplinks  ${Object.entries(report.uplink_ms).map(([u, ms]) => `${u} ${(ms / 1000).toFixed(1)}s`).join(', ') || 'none'}`,
    `  hq log   ${report.hq_log.length} ${report.hq_log.length === 1 ? 'entry' : 'entries'}`,
  );

  const links = report.links ?? [];
  if (links.length > 0) {
    lines.push('', '  links (each way)');
    const rows = [['link', 'from', 'setting', 'dropped up/down']];
    for (const l of links) {
      l.steps.forEach((st, i) => rows.push([
        i === 0 ? `${l.serves}` : '', seconds(st.at_ms), l.emulated ? describeLink(st) : 'ideal (plain wire)',
        i === 0 && l.counted ? `${l.counted.up.dropped}/${l.counted.down.dropped}` : '',
      ]));
    }
    lines.push(...columns(rows, ['l', 'r', 'l', 'r'], '    '));
  }

  const faults = report.faults ?? [];
  if (faults.length > 0) {
    lines.push('', '  faults');
    const rows = [['at', 'fault', 'outage', 'lost']];
    for (const f of faults) {
      const what = f.kind === 'restart' ? `restart ${f.target ?? ''} (${f.mode ?? 'graceful'})` : f.kind === 'power-off' ? `power-off ${String(f.target ?? '')}` : f.kind;
      rows.push([seconds(f.applied_ms), what, f.outage_ms === null ? 'never back' : `${f.outage_ms} ms`, String(f.lost)]);
    }
    lines.push(...columns(rows, ['r', 'l', 'r', 'r'], '    '));
  }

  if (report.expect.length > 0) {
    lines.push('', '  expect');
    const rows = report.expect.map((e) => {
      const bound = (EXPECT_RULES[e.name]?.bound ?? (e.name.endsWith('_min') ? 'min' : 'max')) === 'min' ? '≥' : '≤';
      return [e.ok ? '✓' : '✗', e.name, e.actual === null ? 'not measured' : String(e.actual), bound, String(e.limit)];
    });
    lines.push(...columns(rows, ['l', 'l', 'r', 'l', 'r'], '    '));
  }
  return `${lines.join('\n')}\n`;
}
