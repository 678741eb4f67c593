// The switch log's writes handed to a thread of their own, which owns the write connection: SQLite's file
// (writer.worker.ts) or a PostgreSQL connection (pg-writer.worker.ts). The INSERTs and the commit (SQLite's fsync,
// PostgreSQL's protocol work: parameters out, rows back) no longer run on HQ's event loop. bench/hq (2026-12-03) found
// the loop 95-99 % busy at 5,000 events/s with SQLite's commit and fsync on it, and every request in flight waiting
// for the slowest fsync. A write resolves once it is committed (on disk), so an acknowledgement still means durable.
import { Worker } from 'node:worker_threads';

export type WriterRequest =
  | { seq: number; kind: 'insert'; params: unknown[] }
  | { seq: number; kind: 'prune'; beforeMs: number; chunk: number }
  | { seq: number; kind: 'close' };
type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;
export type WriterReply = { seq: number; ok: true; value: unknown } | { seq: number; ok: false; message: string; code?: string };

/** What EventStore needs of a writer: the rows' parameters in, the stored rows' keys out, in one transaction. */
export interface EventWriter {
  /** Inserts every row (COLUMN_COUNT parameters each, in COLUMNS' order, store/events/insert.ts; the id as hex) in one
   *  transaction; (vehicle, id as hex) of those stored. */
  insert(params: unknown[]): Promise<Array<{ vehicle: string; id: string }>>;
  /** Deletes up to `chunk` rows received before `beforeMs`; how many. */
  prune(beforeMs: number, chunk: number): Promise<number>;
  close(): Promise<void>;
}

/** An error from the writer thread, with SQLite's code kept (isStoreUnavailable reads it: SQLITE_BUSY, SQLITE_FULL, ...). */
class WriterError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/**
 * A writer thread on the switch log file at `path` (already created and migrated by openEventsDb). Requests are
 * answered in order. If the thread dies, what was in flight rejects (nothing acknowledged) and the next request starts
 * a new one.
 */
export function sqliteEventWriter(path: string, o: { synchronous?: 'FULL' | 'NORMAL' | 'OFF' } = {}): EventWriter {
  return threadWriter(new URL('./writer.worker.js', import.meta.url), { path, synchronous: o.synchronous ?? 'FULL' }, 'SQLITE_IOERR');
}

/**
 * A writer thread with a connection of its own to the PostgreSQL database at `url` (already migrated by
 * openPostgres). A lost connection rejects the write with its error (isStoreUnavailable: 503 to the agents) and the
 * next write connects anew.
 */
export function postgresEventWriter(url: string, o: { connectTimeoutMs?: number; statementTimeoutMs?: number } = {}): EventWriter {
  return threadWriter(new URL('./pg-writer.worker.js', import.meta.url), { url, connectTimeoutMs: o.connectTimeoutMs ?? 5000, statementTimeoutMs: o.statementTimeoutMs ?? 30_000 }, '08006');
}

/** The thread running `script` with `data`; `deadCode`: the error code of writes lost when the thread dies (a store-unavailable one). */
function threadWriter(script: URL, data: unknown, deadCode: string): EventWriter {
  let worker: Worker | null = null;
  let seq = 0;
  let closed = false;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const start = (): Worker => {
    const w = new Worker(script, { workerData: data });
    w.on('message', (m: WriterReply) => {
      const p = pending.get(m.seq);
      if (!p) return;
      pending.delete(m.seq);
      if (!pending.size) w.unref();
      if (m.ok) p.resolve(m.value);
      else p.reject(new WriterError(m.message, m.code));
    });
    w.on('error', (err) => failAll(new WriterError(`the switch log's writer thread failed: ${err.message}`, deadCode)));
    w.on('exit', () => {
      if (worker === w) worker = null;
      failAll(new WriterError('the switch log\'s writer thread stopped', deadCode));
    });
    // An idle writer does not keep the process alive; one with a write under way does (ref'd in ask()).
    w.unref();
    return w;
  };
  const ask = <T>(req: Unsequenced<WriterRequest>): Promise<T> => {
    if (closed) return Promise.reject(new WriterError('the switch log is closed', 'SQLITE_MISUSE'));
    worker ??= start();
    const s = ++seq;
    return new Promise<T>((resolve, reject) => {
      if (!pending.size) worker!.ref();
      pending.set(s, { resolve: resolve as (v: unknown) => void, reject });
      worker!.postMessage({ ...req, seq: s } as WriterRequest);
    });
  };
  return {
    insert: (params) => ask({ kind: 'insert', params }),
    prune: (beforeMs, chunk) => ask({ kind: 'prune', beforeMs, chunk }),
    async close() {
      if (closed) return;
      const w = worker;
      if (w) {
        // After everything already asked (answered in order), then the thread ends.
        const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
        await ask({ kind: 'close' }).catch(() => {});
        closed = true;
        w.ref(); // kept alive until the thread has ended (its answer above unref'd it)
        await exited;
      }
      closed = true;
    },
  };
}
