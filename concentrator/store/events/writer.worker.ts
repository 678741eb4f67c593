// The switch log's SQLite writer thread (writer.ts): owns the file's write connection, so the INSERTs and the commit's
// fsync run here and never stall HQ's event loop; the main thread keeps its own connection for reads (WAL).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { cachingPrepare } from '../sql.js';
import { COLUMN_COUNT, INSERT_ROWS, insertText } from './insert.js';
import type { WriterRequest, WriterReply } from './writer.js';

const { path, synchronous } = workerData as { path: string; synchronous: 'FULL' | 'NORMAL' | 'OFF' };
const db = cachingPrepare(new Database(path));
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${synchronous}`);
db.pragma('busy_timeout = 5000');

/** Every row's parameters, COLUMN_COUNT a row (the id, the first, as hex), in one transaction (all or none); the
 *  (vehicle, id as hex) of those stored. */
const insert = db.transaction((params: unknown[]) => {
  const stored: Array<{ vehicle: string; id: string }> = [];
  for (let i = 0; i < params.length; i += COLUMN_COUNT) params[i] = Buffer.from(params[i] as string, 'hex');
  const rows = params.length / COLUMN_COUNT;
  for (let r = 0; r < rows; r += INSERT_ROWS) {
    const n = Math.min(INSERT_ROWS, rows - r);
    const chunk = params.slice(r * COLUMN_COUNT, (r + n) * COLUMN_COUNT);
    for (const x of db.prepare(insertText('sqlite', n)).all(chunk) as Array<{ vehicle: string; id: Buffer }>) stored.push({ vehicle: x.vehicle, id: x.id.toString('hex') });
  }
  return stored;
});

const prune = (beforeMs: number, chunk: number) =>
  db.prepare('DELETE FROM switch_events WHERE log_id IN (SELECT log_id FROM switch_events WHERE received_at < ? ORDER BY received_at LIMIT ?)').run(beforeMs, chunk).changes;

parentPort!.on('message', (m: WriterRequest) => {
  let reply: WriterReply;
  try {
    if (m.kind === 'close') {
      db.close();
      parentPort!.postMessage({ seq: m.seq, ok: true, value: null } satisfies WriterReply);
      parentPort!.close();
      return;
    }
    reply = { seq: m.seq, ok: true, value: m.kind === 'insert' ? insert.immediate(m.params) : prune(m.beforeMs, m.chunk) };
  } catch (err) {
    const e = err as { message?: string; code?: string };
    reply = { seq: m.seq, ok: false, message: e.message ?? String(err), code: e.code };
  }
  parentPort!.postMessage(reply);
});
