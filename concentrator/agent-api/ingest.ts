// Group commit for the switch log: batches from concurrent requests share one transaction (one fsync) per turn of the loop.
import type { TimedEvent } from '../store/events/schema.js';
import type { IngestResult } from '../store/events/service.js';

export interface BatchStore {
  ingestMany(batches: ReadonlyArray<readonly TimedEvent[]>): Promise<IngestResult[]>;
}

/**
 * submit() resolves once the batch is committed (so the agent is acknowledged only for what is on disk). Batches
 * submitted before the scheduled flush runs go into the same transaction; a failed transaction rejects all of them
 * and stores none.
 */
export class GroupCommit {
  private queue: Array<{ events: readonly TimedEvent[]; resolve: (r: IngestResult) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;

  constructor(
    private readonly store: BatchStore,
    /** When to flush: the next turn of the event loop by default. */
    private readonly schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {}

  submit(events: readonly TimedEvent[]): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.schedule(() => void this.flush());
      }
    });
  }

  /** Commits everything queued now. */
  async flush(): Promise<void> {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    if (!q.length) return;
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
