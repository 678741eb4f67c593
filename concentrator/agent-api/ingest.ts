// Group commit for the switch log: batches from concurrent requests share one transaction (one fsync); one commit at a
// time, and what arrives while it runs goes into the next.
import type { TimedEvent } from '../store/events/schema.js';
import type { IngestResult } from '../store/events/service.js';

export interface BatchStore {
  ingestMany(batches: ReadonlyArray<readonly TimedEvent[]>): Promise<IngestResult[]>;
}

/**
 * submit() resolves once the batch is committed (so the agent is acknowledged only for what is on disk). Batches
 * submitted before the scheduled flush runs go into the same transaction; a failed transaction rejects all of them
 * and stores none. At most one commit is under way: batches submitted meanwhile wait for it and then share the next.
 * (With an asynchronous store, PostgreSQL, a commit on every turn of the loop ran dozens of transactions at once, one
 * fsync each, holding every pooled connection: bench/hq, 2026-12-03, identify waited 2.8 s for a connection, and
 * requests failed 503 when the pool's 5 s ran out.)
 */
export class GroupCommit {
  private queue: Array<{ events: readonly TimedEvent[]; resolve: (r: IngestResult) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;
  private committing: Promise<void> | null = null;

  constructor(
    private readonly store: BatchStore,
    /** When to flush: the next turn of the event loop by default. */
    private readonly schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {}

  submit(events: readonly TimedEvent[]): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      this.arm();
    });
  }

  /** Commits everything queued now (after the commit under way, if any). */
  async flush(): Promise<void> {
    this.scheduled = false;
    while (this.committing) await this.committing;
    const q = this.queue;
    this.queue = [];
    if (!q.length) return;
    this.committing = this.commit(q);
    try {
      await this.committing;
    } finally {
      this.committing = null;
      this.arm();
    }
  }

  private arm(): void {
    if (this.scheduled || this.committing || !this.queue.length) return;
    this.scheduled = true;
    this.schedule(() => void this.flush());
  }

  private async commit(q: GroupCommit['queue']): Promise<void> {
    let results: IngestResult[];
    try {
      results = await this.store.ingestMany(q.map((x) => x.events));
    } catch (err) {
      for (const x of q) x.reject(err);
      return;
    }
    q.forEach((x, i) => x.resolve(results[i]!));
  }
}
