// The switch event (design.md §1's switch log): what the agent journals, ships inside the tunnel, and HQ stores once by id.
import { z } from 'zod';
import { policySchema } from '../policy.js';
import { REASONS } from '../reasons.js';
import { isoTime, siteName, uplinkName, vehicleName } from './common.js';

/** One uplink as the arbiter saw it when it decided. Unknown measurements are null. */
export const candidateSchema = z.strictObject({
  name: uplinkName,
  phase: z.string().max(32),
  ready: z.boolean(),
  /** dBm (Wi-Fi RSSI, LTE RSRP). */
  signal: z.number().min(-150).max(0).nullable().default(null),
  rtt_ms: z.number().min(0).max(600_000).nullable().default(null),
  /** Probe loss, 0..1. */
  loss: z.number().min(0).max(1).nullable().default(null),
  /** The policy's score for this uplink, when it computed one. */
  score: z.number().nullable().default(null),
});

const num = (min: number, max: number) => z.number().min(min).max(max).nullable().default(null);

/** One uplink as the decision saw it (agent/policy/choose.ts's CandidateWhy, with its lifecycle phase and AP). */
export const whyCandidateSchema = z.strictObject({
  name: uplinkName,
  kind: z.enum(['wifi', 'lte', 'ethernet']),
  /** The uplink machine's phase (down, addressing, configuring, probing, ready) and the policy's state for it. */
  phase: z.string().max(32),
  state: z.string().max(32),
  /** dBm (Wi-Fi RSSI, LTE RSRP). */
  signal: num(-150, 0),
  rtt_ms: num(0, 600_000),
  /** Probe loss, 0..1. */
  loss: num(0, 1),
  ready: z.boolean(),
  carrier: z.boolean(),
  /** It carried the tunnel when the decision was made. */
  active: z.boolean(),
  /** It could have taken the tunnel (ready, carrier, probes fine, not held down). */
  usable: z.boolean(),
  /** Wi-Fi: the AP it was on. */
  ap: z.strictObject({ ssid: z.string().max(32), bssid: z.string().max(17) }).nullable().default(null),
});

/**
 * The why: what the decision saw, journaled, shipped and stored as one record. `rule` is the policy's rule (the
 * reason, or the rule the operator's switch overrode), `text` the line for people, `site` and `policy` the site and
 * the thresholds that applied, `candidates` every uplink as the decision saw it.
 */
export const whySchema = z.strictObject({
  rule: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a rule word'),
  text: z.string().max(1000),
  /** An operator asked for it (`roamlink switch`). */
  operator: z.boolean().default(false),
  site: siteName.nullable().default(null),
  policy: policySchema.nullable().default(null),
  candidates: z.array(whyCandidateSchema).max(16).default([]),
});

export type WhyCandidate = z.output<typeof whyCandidateSchema>;
export type WhyRecord = z.output<typeof whySchema>;

/** An older agent's why was a line of text (or nothing): kept as the text, nothing else known. */
const whyOnWire = z.preprocess((v) => (typeof v === 'string' ? { rule: 'unknown', text: v } : v), whySchema.nullable());

/**
 * A moment on the agent's monotonic clock (shared/clock.ts): ms on a timeline that is one agent process. Two of them
 * on the same timeline are a duration whatever the wall clock did in between; HQ corrects `at` by it.
 */
export const monoSchema = z.strictObject({
  timeline: z.uuid(),
  ms: z.number().min(0).max(1e13),
});
export type Mono = z.output<typeof monoSchema>;

export const switchEventSchema = z.strictObject({
  /** Unique forever: the key that makes shipping idempotent. */
  id: z.uuid(),
  vehicle: vehicleName,
  /**
   * Per vehicle, strictly increasing in the order the agent journaled its switches (1, 2, ...), across restarts (the
   * journal's key): the order of a vehicle's log, whatever its clock did. Optional on the wire (HQ stores 0: none).
   */
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  /** When the switch was decided, on the agent's wall clock (which may be wrong, and may step: HQ corrects or marks it). */
  at: isoTime,
  /** The same moment on the agent's monotonic clock (agents since 2026-12; absent from older ones). */
  mono: monoSchema.optional(),
  /** null for the first switch after start. */
  from: uplinkName.nullable(),
  to: uplinkName,
  /** Why: one of shared/reasons.ts's words (initial, carrier-loss, blackhole, loss, forced, signal, ...). */
  reason: z.enum(REASONS, { message: `must be a reason: ${REASONS.join(', ')}` }),
  /** What the decision saw (whySchema); null from agents that did not say. */
  why: whyOnWire.default(null),
  /** Decision to first reply on the new path; null when unconfirmed. */
  ms_to_first_packet: z.number().min(0).max(600_000).nullable().default(null),
  /** The measured gap in traffic, when something measured it. */
  gap_ms: z.number().min(0).max(86_400_000).nullable().default(null),
  /** The candidates in the older, shorter form (the same readings as why.candidates, for older readers). */
  candidates: z.array(candidateSchema).max(16).default([]),
  site: siteName.nullable().default(null),
});

export type Candidate = z.output<typeof candidateSchema>;
export type SwitchEvent = z.output<typeof switchEventSchema>;
/** What a producer may leave out (defaults fill it). */
export type SwitchEventInput = z.input<typeof switchEventSchema>;

/** Most events one POST /v1/events may carry. */
export const MAX_BATCH = 1000;

/** The agent's clock when it sent a batch: HQ relates it to its own receive time (the vehicle's clock offset). */
export const sentClockSchema = z.strictObject({
  /** The agent's wall clock. */
  wall: isoTime,
  /** Its monotonic clock, at the same moment. */
  mono: monoSchema,
});
export type SentClock = z.output<typeof sentClockSchema>;

/** POST /v1/events: a batch, stored all or nothing. */
export const eventBatchSchema = z.strictObject({
  /** When the agent sent it (agents since 2026-12): what an event's `at` is corrected by. */
  sent: sentClockSchema.optional(),
  events: z.array(switchEventSchema).min(1, 'must hold at least one event').max(MAX_BATCH, `must hold at most ${MAX_BATCH} events`),
});

/**
 * How far HQ's switch log is durable: every batch HQ accepted with a ticket ≤ `upto` in this `epoch` is committed
 * (on disk). The epoch is one HQ process's, begun afresh at its start and after any failed commit: a ticket of
 * another epoch may never be committed, so its events are shipped again (HQ stores each (vehicle, id) once).
 */
export const durableMarkSchema = z.strictObject({
  epoch: z.uuid(),
  upto: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type DurableMark = z.output<typeof durableMarkSchema>;

/** The answer once stored (200): every id in the batch is now stored (new or already there), so the agent marks them
 *  all shipped. `durable`: HQ's mark as it answered (HQs since 2026-12). */
export interface EventBatchReply {
  stored: string[];
  inserted: number;
  duplicates: number;
  durable?: DurableMark;
}

/**
 * The answer before the commit (202), to an agent that asked for it with `Prefer: respond-async` (RFC 7240; an older
 * HQ ignores the header and answers 200 once stored). The batch is valid and queued for the commit as ticket `ticket`
 * of `epoch`; it is NOT yet durable: the agent keeps the events in its journal until a durable mark covers the ticket
 * (GET /v1/events/durable?epoch=E&upto=N, which waits a little for it), and ships them again when the epoch changed.
 */
export interface EventBatchAccepted {
  accepted: string[];
  epoch: string;
  ticket: number;
  durable: DurableMark;
}

/** GET /v1/events/durable waits at most this long for the mark asked for, then answers the mark as it is. */
export const DURABLE_WAIT_MS = 2000;
