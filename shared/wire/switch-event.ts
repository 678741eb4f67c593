// The switch event (design.md §1's switch log): what the agent journals, ships inside the tunnel, and HQ stores once by id.
import { z } from 'zod';
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

export const switchEventSchema = z.strictObject({
  /** Unique forever: the key that makes shipping idempotent. */
  id: z.uuid(),
  vehicle: vehicleName,
  /** Per vehicle, strictly increasing in the order the agent journaled its switches (1, 2, ...). */
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  /** When the switch was decided (the agent's wall clock). */
  at: isoTime,
  /** null for the first switch after start. */
  from: uplinkName.nullable(),
  to: uplinkName,
  /** Why: one of shared/reasons.ts's words (initial, carrier-loss, blackhole, loss, forced, signal, ...). */
  reason: z.enum(REASONS, { message: `must be a reason: ${REASONS.join(', ')}` }),
  /** Which threshold or rule fired, in words. */
  why: z.string().max(500).nullable().default(null),
  /** Decision to first reply on the new path; null when unconfirmed. */
  ms_to_first_packet: z.number().min(0).max(600_000).nullable().default(null),
  /** The measured gap in traffic, when something measured it. */
  gap_ms: z.number().min(0).max(86_400_000).nullable().default(null),
  candidates: z.array(candidateSchema).max(16).default([]),
  site: siteName.nullable().default(null),
});

export type Candidate = z.output<typeof candidateSchema>;
export type SwitchEvent = z.output<typeof switchEventSchema>;
/** What a producer may leave out (defaults fill it). */
export type SwitchEventInput = z.input<typeof switchEventSchema>;

/** Most events one POST /v1/events may carry. */
export const MAX_BATCH = 1000;

/** POST /v1/events: a batch, stored all or nothing. */
export const eventBatchSchema = z.strictObject({
  events: z.array(switchEventSchema).min(1, 'must hold at least one event').max(MAX_BATCH, `must hold at most ${MAX_BATCH} events`),
});

/** The answer: every id in the batch is now stored (new or already there), so the agent marks them all shipped. */
export interface EventBatchReply {
  stored: string[];
  inserted: number;
  duplicates: number;
}
