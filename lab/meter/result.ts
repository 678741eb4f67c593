// What the traffic meter prints when it ends: the datagram format, its JSON result (schema) and the compact arrival log.
import { z } from 'zod';

/*
 * Datagram (100 bytes, big-endian): "RLM1" | run id u32 | seq u32 | send time f64 (epoch ms, sub-ms) | zero padding.
 * Receivers ignore datagrams with another magic or run id (strays of an earlier run).
 */
export const DATAGRAM_BYTES = 100;
const MAGIC = 0x524c4d31; // "RLM1"

export function encodeDatagram(runId: number, seq: number, sentMs: number): Buffer {
  const b = Buffer.alloc(DATAGRAM_BYTES);
  b.writeUInt32BE(MAGIC, 0);
  b.writeUInt32BE(runId >>> 0, 4);
  b.writeUInt32BE(seq >>> 0, 8);
  b.writeDoubleBE(sentMs, 12);
  return b;
}

/** The datagram's seq and send time, or null when it is not one of this run's. */
export function decodeDatagram(b: Buffer, runId: number): { seq: number; sentMs: number } | null {
  if (b.length < 20 || b.readUInt32BE(0) !== MAGIC || b.readUInt32BE(4) !== runId >>> 0) return null;
  return { seq: b.readUInt32BE(8), sentMs: b.readDoubleBE(12) };
}

const ms = z.number();
const txSchema = z.looseObject({
  /** pps × duration: what the meter set out to send. */
  planned: z.number().int(),
  sent: z.number().int(),
  /** Epoch ms of the first and last datagram handed to the kernel (null if none). */
  first_ms: ms.nullable(),
  last_ms: ms.nullable(),
  /** How late the pacer sent its latest datagram against the schedule t0_ms + seq × 1000/pps. */
  lag_max_ms: ms,
  errors: z.number().int(),
});

const rxSchema = z.looseObject({
  /** Distinct sequence numbers received. */
  received: z.number().int(),
  duplicates: z.number().int(),
  /** Arrivals with a lower seq than one already received. */
  reordered: z.number().int(),
  /** Datagrams that were not this run's. */
  stray: z.number().int(),
  /** Seqs in arrival order (duplicates included), as runs [first seq, count] of consecutive ascending seqs. */
  seq_runs: z.array(z.tuple([z.number().int(), z.number().int()])),
  /** Arrival times in µs, the first relative to t0_ms, each next one relative to the one before. */
  at_us: z.array(z.number().int()),
  /** One-way delay from the send time in the datagram (all meters share the machine's clock). */
  delay_ms: z.object({ min: ms, avg: ms, max: ms }).nullable(),
  /** Each arrival's one-way delay in µs, in arrival order, duplicates left out (only with --delays: bench/links.ts). */
  delay_us: z.array(z.number().int()).optional(),
});

export const meterResultSchema = z.looseObject({
  meter: z.literal(1),
  run_id: z.number().int(),
  bind: z.string(),
  peer: z.string(),
  pps: z.number(),
  duration_ms: z.number(),
  /** Epoch ms when the send schedule starts (--start-at); arrival times are relative to it. */
  t0_ms: ms,
  /** done: ran to the end; signal: stopped early by SIGTERM/SIGINT. */
  stopped: z.enum(['done', 'signal']),
  tx: txSchema,
  rx: rxSchema,
});

export type MeterResult = z.output<typeof meterResultSchema>;
export type TxResult = MeterResult['tx'];
export type RxResult = MeterResult['rx'];

/** Collects arrivals into the compact log, counting duplicates, reordering and strays as they come. */
export class RxRecorder {
  private seen = new Uint8Array(1024);
  private maxSeq = -1;
  private lastUs: number | null = null;
  private readonly runs: Array<[number, number]> = [];
  private readonly atUs: number[] = [];
  private delaySum = 0;
  private delayMin = Infinity;
  private delayMax = -Infinity;
  private readonly delayUs: number[] | null;
  received = 0;
  duplicates = 0;
  reordered = 0;
  stray = 0;

  constructor(
    private readonly t0Ms: number,
    keepDelays = false,
  ) {
    this.delayUs = keepDelays ? [] : null;
  }

  add(seq: number, atMs: number, sentMs: number): void {
    if (seq >= this.seen.length) {
      const grown = new Uint8Array(Math.max(this.seen.length * 2, seq + 1));
      grown.set(this.seen);
      this.seen = grown;
    }
    if (this.seen[seq]) this.duplicates++;
    else {
      this.seen[seq] = 1;
      this.received++;
      if (seq < this.maxSeq) this.reordered++;
      this.maxSeq = Math.max(this.maxSeq, seq);
      const delay = atMs - sentMs;
      this.delaySum += delay;
      this.delayMin = Math.min(this.delayMin, delay);
      this.delayMax = Math.max(this.delayMax, delay);
      this.delayUs?.push(Math.round(delay * 1000));
    }
    const last = this.runs[this.runs.length - 1];
    if (last && last[0] + last[1] === seq) last[1]++;
    else this.runs.push([seq, 1]);
    const us = Math.round((atMs - this.t0Ms) * 1000);
    this.atUs.push(this.lastUs === null ? us : us - this.lastUs);
    this.lastUs = us;
  }

  result(): RxResult {
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    return {
      received: this.received,
      duplicates: this.duplicates,
      reordered: this.reordered,
      stray: this.stray,
      seq_runs: this.runs.map(([s, n]) => [s, n] as [number, number]),
      at_us: [...this.atUs],
      delay_ms: this.received ? { min: r3(this.delayMin), avg: r3(this.delaySum / this.received), max: r3(this.delayMax) } : null,
      ...(this.delayUs ? { delay_us: [...this.delayUs] } : {}),
    };
  }
}

/** The arrival log back as (seq, epoch ms) pairs in arrival order, duplicates included. */
export function arrivalsOf(rx: Pick<RxResult, 'seq_runs' | 'at_us'>, t0Ms: number): Array<{ seq: number; atMs: number }> {
  const out: Array<{ seq: number; atMs: number }> = [];
  let us = 0;
  let i = 0;
  for (const [first, n] of rx.seq_runs) {
    for (let k = 0; k < n; k++, i++) {
      const d = rx.at_us[i];
      if (d === undefined) throw new Error(`meter result: at_us has ${rx.at_us.length} entries, seq_runs more`);
      us = i === 0 ? d : us + d;
      out.push({ seq: first + k, atMs: t0Ms + us / 1000 });
    }
  }
  if (i !== rx.at_us.length) throw new Error(`meter result: at_us has ${rx.at_us.length} entries, seq_runs ${i}`);
  return out;
}
