// Ships the journal to HQ: oldest first, in batches, retrying with backoff until HQ acknowledges them durable;
// idempotent by id, so a batch sent twice (acknowledgement lost, agent restarted, HQ restarted before its commit) is
// stored once. An event leaves the journal's unshipped set only once HQ says it is on disk: at once (200), or after
// HQ accepted it (202) and a durable mark of the same epoch covers its ticket; another epoch ships it again.
//
// HQ tells the mark in every answer to a batch (and the agent's link hands on the heartbeat's, observe()), so a busy
// agent learns it without asking; only an agent with nothing else to send, whose accepted batches no answer covered
// within DURABLE_GRACE_MS, asks for it (GET /v1/events/durable).
//
// idle ──kick()──▶ sending ──acknowledged or accepted, more left──▶ sending
//                     │ └──none left, accepted ones, grace over: asks for the durable mark──▶ sending
//                     │ └──none left, accepted ones, in the grace──▶ waiting (the grace's end, a kick or a mark)
//                     │ └──none left, none accepted──▶ idle
//                     └──failed──▶ waiting ──timer or kick()──▶ sending
import type { Logger } from '../../shared/log.js';
import type { DurableMark, SwitchEvent } from '../../shared/wire/switch-event.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { Clock } from '../../shared/clock.js';

/** What one POST of a batch came to. */
export type SendOutcome =
  /** HQ stored (or already had) these ids; `durable`: HQ's mark as it answered (HQs since 2026-12). */
  | { kind: 'ok'; stored: string[]; durable?: DurableMark }
  /**
   * HQ queued these ids for its commit as `ticket` (202): durable once a mark of the same epoch reaches ticket.upto.
   * `durable`: HQ's mark as it answered (it covers earlier tickets, never this one).
   */
  | { kind: 'accepted'; accepted: string[]; ticket: DurableMark; durable?: DurableMark }
  /** Worth retrying as is: no route, HQ down or restarting, 5xx, 403 (not registered yet), a timeout. */
  | { kind: 'retry'; error: string }
  /** HQ will never take this batch as it is (400); `index` is the bad event's, when HQ named it. */
  | { kind: 'refused'; index: number | null; message: string }
  /** 413: send fewer at a time. */
  | { kind: 'too-large' };

/** What asking HQ for its durable mark came to: the mark, or null when HQ knows no marks (ship again). */
export type DurableOutcome = { kind: 'mark'; mark: DurableMark | null } | { kind: 'retry'; error: string };

/** Accepted ids ask for the durable mark at most this many at a time (then shipping waits for the mark). */
const MAX_ACCEPTED_BATCHES = 4;

/**
 * With nothing else to send, accepted batches wait this long for a mark from an answer (the next batch's, a
 * heartbeat's) before the shipper asks for it: a busy agent never asks, an idle one asks once.
 */
export const DURABLE_GRACE_MS = 2000;

export interface ShipperJournal {
  unshipped(limit: number): SwitchEvent[];
  markShipped(ids: readonly string[]): number;
  markRejected(id: string, why: string): void;
}

export interface ShipperDeps {
  journal: ShipperJournal;
  send: (events: SwitchEvent[], signal: AbortSignal) => Promise<SendOutcome>;
  /** HQ's durable mark once it covers `want` (HQ waits a little); needed once HQ answers 'accepted'. */
  durable?: (want: DurableMark, signal: AbortSignal) => Promise<DurableOutcome>;
  /** Retries' and the grace's waits, and the time the grace runs on. */
  timer: Pick<Clock, 'set' | 'clear' | 'now'>;
  random?: () => number;
  backoff?: Partial<BackoffPolicy>;
  /** Events per POST (HQ takes up to 1000). */
  batchSize?: number;
  /** How long accepted batches wait for a mark from an answer before the shipper asks for it (DURABLE_GRACE_MS). */
  durableGraceMs?: number;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Metrics hooks. */
  onShipped?: (n: number) => void;
  onFailure?: (error: string) => void;
}

export type ShipperState = 'idle' | 'sending' | 'waiting' | 'stopped';

/** The ids HQ named that belong to this batch (an answer naming others proves nothing of it). */
function ofBatch(events: readonly SwitchEvent[], ids: readonly string[]): string[] {
  const sent = new Set(events.map((e) => e.id));
  return ids.filter((id) => sent.has(id));
}

export class Shipper {
  private st: ShipperState = 'idle';
  private attempt = 0;
  private retryHandle: unknown = null;
  private readonly ac = new AbortController();
  private readonly policy: BackoffPolicy;
  private readonly maxBatch: number;
  private batch: number;
  private running: Promise<void> | null = null;
  /** Batches HQ accepted, not yet known durable: not sent again while here; forgotten (so shipped again) on another epoch. */
  private accepted: Array<{ ids: string[]; ticket: DurableMark }> = [];
  /** When (timer's clock, ms) the last batch was accepted: the grace before asking for the mark runs from then. */
  private acceptedAt = 0;
  private readonly grace: number;
  /** The grace's timer is set (a wait for a mark, not a failure). */
  private graceWait = false;

  constructor(private readonly d: ShipperDeps) {
    this.policy = { ...DEFAULT_BACKOFF, ...d.backoff };
    this.maxBatch = d.batchSize ?? 200;
    this.batch = this.maxBatch;
    this.grace = d.durableGraceMs ?? DURABLE_GRACE_MS;
  }

  get state(): ShipperState {
    return this.st;
  }

  /** Failures in a row since the last acknowledgement. */
  get failures(): number {
    return this.attempt;
  }

  /** Something was journaled, or a path to HQ came back: ship now (a pending retry is brought forward). */
  kick(): void {
    if (this.st === 'stopped') return;
    if (this.st === 'sending') return; // the loop reads the journal again before it goes idle
    if (this.st === 'waiting') {
      this.d.timer.clear(this.retryHandle);
      this.retryHandle = null;
      this.graceWait = false;
    }
    this.running = this.pump();
  }

  /**
   * HQ's durable mark, told by something other than the shipper's own requests (the heartbeat's answer): marks shipped
   * the accepted batches it covers, ships again those of another epoch. A mark read at any time is true of its epoch,
   * so a late one only covers less.
   */
  observe(mark: DurableMark): void {
    if (this.st === 'stopped' || !this.accepted.length) return;
    const { lost } = this.settle(mark);
    if ((this.st === 'waiting' && this.graceWait) || (this.st === 'idle' && lost)) this.kick();
  }

  /** Stops: the request in flight is aborted (its events stay unshipped and go with the next agent). */
  async stop(): Promise<void> {
    if (this.st === 'waiting') this.d.timer.clear(this.retryHandle);
    this.st = 'stopped';
    this.ac.abort();
    await this.running?.catch(() => {});
  }

  /** HQ took (part of) a batch: the failures are over and the next batch may be twice as large. */
  private progressed(): void {
    if (this.attempt) this.d.log?.info({ event: 'ship.resumed', after_failures: this.attempt }, 'switch log shipping resumed');
    this.attempt = 0;
    this.batch = Math.min(this.maxBatch, this.batch * 2);
  }

  private wait(error: string): void {
    const ms = backoffDelay(this.attempt, this.policy, this.d.random?.() ?? Math.random());
    this.attempt++;
    this.d.onFailure?.(error);
    if (this.attempt === 1 || this.attempt % 20 === 0) this.d.log?.warn({ event: 'ship.retry', attempt: this.attempt, in_ms: ms, err: error }, `switch log not shipped (${error}); retrying`);
    this.st = 'waiting';
    this.retryHandle = this.d.timer.set(() => {
      this.retryHandle = null;
      if (this.st === 'waiting') this.running = this.pump();
    }, ms);
  }

  /** Ids HQ accepted and this shipper awaits the durable mark for. */
  get awaitingDurable(): number {
    return this.accepted.reduce((n, a) => n + a.ids.length, 0);
  }

  /** The oldest unshipped events not awaiting their durable mark. */
  private next(): SwitchEvent[] {
    if (!this.accepted.length) return this.d.journal.unshipped(this.batch);
    const held = new Set(this.accepted.flatMap((a) => a.ids));
    return this.d.journal.unshipped(this.batch + held.size).filter((e) => !held.has(e.id)).slice(0, this.batch);
  }

  /**
   * A mark applied to the accepted batches: those it covers are durable (marked shipped), those of another epoch (or
   * all, for null: an HQ that knows no marks) are forgotten, so shipped again (HQ stores each id once).
   */
  private settle(mark: DurableMark | null): { durable: number; lost: number } {
    const durable = this.accepted.filter((a) => mark !== null && a.ticket.epoch === mark.epoch && a.ticket.upto <= mark.upto);
    const lost = this.accepted.filter((a) => mark === null || a.ticket.epoch !== mark.epoch);
    if (!durable.length && !lost.length) return { durable: 0, lost: 0 };
    this.accepted = this.accepted.filter((a) => !durable.includes(a) && !lost.includes(a));
    const ids = durable.flatMap((a) => a.ids);
    if (ids.length) {
      this.d.journal.markShipped(ids);
      this.d.onShipped?.(ids.length);
    }
    const resend = lost.reduce((n, a) => n + a.ids.length, 0);
    if (resend) this.d.log?.info({ event: 'ship.resend', events: resend }, 'HQ restarted or failed a commit before these were durable: shipping them again');
    return { durable: ids.length, lost: resend };
  }

  /**
   * Asks HQ for its durable mark (settle()). False when nothing came of it (the shipper has waited).
   */
  private async confirm(): Promise<boolean> {
    const want = this.accepted[this.accepted.length - 1]!.ticket;
    let out: DurableOutcome;
    try {
      out = this.d.durable ? await this.d.durable(want, this.ac.signal) : { kind: 'mark', mark: null };
    } catch (err) {
      out = { kind: 'retry', error: err instanceof Error ? err.message : String(err) };
    }
    if ((this.st as ShipperState) === 'stopped') return false;
    if (out.kind === 'retry') {
      this.wait(`durable mark: ${out.error}`);
      return false;
    }
    const { durable, lost } = this.settle(out.mark);
    if (!durable && !lost) {
      this.wait('HQ has not made the accepted events durable yet');
      return false;
    }
    return true;
  }

  /** Nothing else to send: the accepted batches wait `ms` for a mark from an answer, then the shipper asks (pump). */
  private awaitMark(ms: number): void {
    this.st = 'waiting';
    this.graceWait = true;
    this.retryHandle = this.d.timer.set(() => {
      this.retryHandle = null;
      this.graceWait = false;
      if (this.st === 'waiting') this.running = this.pump();
    }, ms);
  }

  private async pump(): Promise<void> {
    this.st = 'sending';
    for (;;) {
      const events = this.accepted.length >= MAX_ACCEPTED_BATCHES ? [] : this.next();
      if (!events.length) {
        if (this.accepted.length) {
          // A full window asks at once; otherwise the next answer or heartbeat may carry the mark within the grace.
          const left = this.grace - (this.d.timer.now() - this.acceptedAt);
          if (this.accepted.length < MAX_ACCEPTED_BATCHES && left > 0) {
            this.awaitMark(left);
            return;
          }
          if (await this.confirm()) continue;
          return;
        }
        this.st = 'idle';
        return;
      }
      let out: SendOutcome;
      try {
        out = await this.d.send(events, this.ac.signal);
      } catch (err) {
        out = { kind: 'retry', error: err instanceof Error ? err.message : String(err) };
      }
      if ((this.st as ShipperState) === 'stopped') return;
      switch (out.kind) {
        case 'ok': {
          const acked = ofBatch(events, out.stored);
          if (!acked.length) {
            this.wait('HQ acknowledged none of the batch');
            return;
          }
          this.d.journal.markShipped(acked);
          this.d.onShipped?.(acked.length);
          if (out.durable) this.settle(out.durable);
          this.progressed();
          continue;
        }
        case 'accepted': {
          const ids = ofBatch(events, out.accepted);
          if (!ids.length) {
            this.wait('HQ accepted none of the batch');
            return;
          }
          // The answer's mark first: it covers earlier tickets (never this one), or tells of another epoch.
          if (out.durable) this.settle(out.durable);
          this.accepted.push({ ids, ticket: out.ticket });
          this.acceptedAt = this.d.timer.now();
          this.progressed();
          continue;
        }
        case 'too-large':
          if (events.length > 1) {
            this.batch = Math.max(1, Math.floor(events.length / 2));
            continue;
          }
          this.reject(events[0]!, 'HQ refuses it as too large');
          continue;
        case 'refused': {
          const bad = out.index !== null ? events[out.index] : events.length === 1 ? events[0] : undefined;
          if (bad) this.reject(bad, out.message);
          else this.batch = 1; // find the bad one: one at a time until it is shipped or set aside
          continue;
        }
        case 'retry':
          this.wait(out.error);
          return;
      }
    }
  }

  private reject(e: SwitchEvent, why: string): void {
    this.d.journal.markRejected(e.id, `refused by HQ: ${why}`);
    this.d.log?.error({ event: 'ship.refused', id: e.id, seq: e.seq, why }, `HQ refuses switch event ${e.id} (seq ${e.seq}); kept in the journal, not shipped`);
  }
}
