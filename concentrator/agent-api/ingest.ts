// Group commit for the switch log: batches from concurrent requests share one transaction (one fsync); one commit at a
// time, and what arrives while it runs goes into the next. Each batch gets a ticket; the durable mark says how far the
// tickets are committed, so HQ may answer an agent before the commit and tell it "durable" later (design.md §1).
import { randomUUID } from 'node:crypto';
import type { TimedEvent } from '../store/events/schema.js';
import type { IngestResult } from '../store/events/service.js';
import type { DurableMark } from '../../shared/wire/switch-event.js';

export interface BatchStore {
  ingestMany(batches: ReadonlyArray<readonly TimedEvent[]>): Promise<IngestResult[]>;
}

/** A batch handed to the commit: its ticket in this epoch, and the commit's outcome. */
export interface Accepted {
  epoch: string;
  ticket: number;
  committed: Promise<IngestResult>;
}

/** Batches queued beyond this many events are answered once stored, not before (backpressure on the agents). */
export const MAX_QUEUED_EVENTS = 50_000;

type Queued = { events: readonly TimedEvent[]; ticket: number; resolve: (r: IngestResult) => void; reject: (e: unknown) => void };

/**
 * submit() resolves once the batch is committed (so the agent is acknowledged only for what is on disk). Batches
 * submitted before the scheduled flush runs go into the same transaction; a failed transaction rejects all of them
 * and stores none. At most one commit is under way: batches submitted meanwhile wait for it and then share the next.
 * (With an asynchronous store, PostgreSQL, a commit on every turn of the loop ran dozens of transactions at once, one
 * fsync each, holding every pooled connection: bench/hq, 2026-12-03, identify waited 2.8 s for a connection, and
 * requests failed 503 when the pool's 5 s ran out.)
 *
 * Tickets: every batch gets the next number. Batches commit in ticket order, so once a commit succeeds every ticket up
 * to its last is on disk: that is the durable mark. A failed commit begins a new epoch, so no mark of the epoch its
 * tickets were given in ever covers them (their agents ship them again); so does a new process.
 */
export class GroupCommit {
  private queue: Queued[] = [];
  private queuedEvents = 0;
  private scheduled = false;
  private committing: Promise<void> | null = null;
  private epoch = randomUUID();
  private issued = 0;
  private upto = 0;
  private failing = false;
  private waiters = new Set<() => void>();

  constructor(
    private readonly store: BatchStore,
    /** When to flush: the next turn of the event loop by default. */
    private readonly schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
    private readonly maxQueued = MAX_QUEUED_EVENTS,
  ) {}

  submit(events: readonly TimedEvent[]): Promise<IngestResult> {
    return this.enqueue(events).committed;
  }

  /**
   * The batch queued for the commit, or null when it should be answered only once stored: the last commit failed
   * (the store is down: the agent gets the commit's error, 503, and keeps its events) or the queue is long.
   */
  accept(events: readonly TimedEvent[]): Accepted | null {
    if (this.failing || this.queuedEvents >= this.maxQueued) return null;
    return this.enqueue(events);
  }

  /** Every ticket up to `upto` in `epoch` is committed. */
  mark(): DurableMark {
    return { epoch: this.epoch, upto: this.upto };
  }

  /** The mark once it covers `want` (or the epoch is another), or as it is when `signal` aborts. */
  untilDurable(want: DurableMark, signal: AbortSignal): Promise<DurableMark> {
    const reached = () => this.epoch !== want.epoch || this.upto >= want.upto || signal.aborted;
    if (reached()) return Promise.resolve(this.mark());
    return new Promise((resolve) => {
      const check = () => {
        if (!reached()) return;
        this.waiters.delete(check);
        signal.removeEventListener('abort', check);
        resolve(this.mark());
      };
      this.waiters.add(check);
      signal.addEventListener('abort', check);
    });
  }

  /** Commits everything queued now (after the commit under way, if any). */
  async flush(): Promise<void> {
    this.scheduled = false;
    while (this.committing) await this.committing;
    const q = this.queue;
    this.queue = [];
    this.queuedEvents = 0;
    if (!q.length) return;
    this.committing = this.commit(q);
    try {
      await this.committing;
    } finally {
      this.committing = null;
      this.arm();
    }
  }

  private enqueue(events: readonly TimedEvent[]): Accepted {
    const ticket = ++this.issued;
    const epoch = this.epoch;
    const committed = new Promise<IngestResult>((resolve, reject) => {
      this.queue.push({ events, ticket, resolve, reject });
      this.queuedEvents += events.length;
      this.arm();
    });
    return { epoch, ticket, committed };
  }

  private arm(): void {
    if (this.scheduled || this.committing || !this.queue.length) return;
    this.scheduled = true;
    this.schedule(() => void this.flush());
  }

  private async commit(q: Queued[]): Promise<void> {
    let results: IngestResult[];
    try {
      results = await this.store.ingestMany(q.map((x) => x.events));
    } catch (err) {
      // Nothing of this group is stored: no mark of the epoch their tickets were given in may ever cover them.
      this.epoch = randomUUID();
      this.failing = true;
      for (const x of q) x.reject(err);
      this.wake();
      return;
    }
    this.failing = false;
    this.upto = q[q.length - 1]!.ticket;
    q.forEach((x, i) => x.resolve(results[i]!));
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
