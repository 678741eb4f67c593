// The switch log's PostgreSQL writer thread (writer.ts): a connection of its own, so the ingest's INSERTs and commits
// (their parameters sent, their rows read) run here, not on HQ's event loop; reads stay on the main thread's pools.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { COLUMN_COUNT, INSERT_ROWS, insertText } from './insert.js';
import type { WriterRequest, WriterReply } from './writer.js';

const { url, connectTimeoutMs, statementTimeoutMs } = workerData as { url: string; connectTimeoutMs: number; statementTimeoutMs: number };
// One connection: writes are answered in order anyway. A broken one is dropped by the pool and the next write connects
// anew (bounded by connectTimeoutMs: a lost database is an error, never a hang).
const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: connectTimeoutMs, statement_timeout: statementTimeoutMs, idleTimeoutMillis: 30_000 });
// Without listeners a broken connection's error (the server went away) would end the thread; the write that was using
// it rejects on its own, with that error.
pool.on('error', () => {});
pool.on('connect', (client) => client.on('error', () => {}));

/** Every row's parameters, COLUMN_COUNT a row (the id, the first, as hex), in one transaction (all or none); the
 *  (vehicle, id as hex) of those stored. One statement needs no BEGIN/COMMIT round trips of its own. */
async function insert(params: unknown[]): Promise<Array<{ vehicle: string; id: string }>> {
  for (let i = 0; i < params.length; i += COLUMN_COUNT) params[i] = Buffer.from(params[i] as string, 'hex');
  const rows = params.length / COLUMN_COUNT;
  const several = rows > INSERT_ROWS;
  const client = await pool.connect();
  try {
    const stored: Array<{ vehicle: string; id: string }> = [];
    if (several) await client.query('BEGIN');
    for (let r = 0; r < rows; r += INSERT_ROWS) {
      const n = Math.min(INSERT_ROWS, rows - r);
      const res = await client.query<{ vehicle: string; id: Buffer }>(insertText('postgres', n), params.slice(r * COLUMN_COUNT, (r + n) * COLUMN_COUNT));
      for (const x of res.rows) stored.push({ vehicle: x.vehicle, id: x.id.toString('hex') });
    }
    if (several) await client.query('COMMIT');
    client.release();
    return stored;
  } catch (err) {
    // Dropped, not reused: whatever failed (a constraint, the connection), the next write starts on a clean one, and an
    // open transaction ends with it (nothing of it stored).
    client.release(err as Error);
    throw err;
  }
}

async function prune(beforeMs: number, chunk: number): Promise<number> {
  const r = await pool.query('DELETE FROM switch_events WHERE log_id IN (SELECT log_id FROM switch_events WHERE received_at < $1 ORDER BY received_at LIMIT $2)', [beforeMs, chunk]);
  return r.rowCount ?? 0;
}

// One request at a time, in the order asked (GroupCommit commits one group at a time; a prune waits its turn).
let turn: Promise<void> = Promise.resolve();
parentPort!.on('message', (m: WriterRequest) => {
  turn = turn.then(async () => {
    let reply: WriterReply;
    try {
      if (m.kind === 'close') {
        await pool.end();
        parentPort!.postMessage({ seq: m.seq, ok: true, value: null } satisfies WriterReply);
        parentPort!.close();
        return;
      }
      reply = { seq: m.seq, ok: true, value: m.kind === 'insert' ? await insert(m.params) : await prune(m.beforeMs, m.chunk) };
    } catch (err) {
      const e = err as { message?: string; code?: string };
      reply = { seq: m.seq, ok: false, message: e.message ?? String(err), code: e.code };
    }
    parentPort!.postMessage(reply);
  });
});
