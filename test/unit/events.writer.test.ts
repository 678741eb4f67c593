// The switch log's SQLite writer thread: ingest and prune go through it, all or nothing, durable once answered; reads
// on the main connection see what it committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import { sqliteEventWriter } from '../../concentrator/store/events/writer.js';
import { COLUMNS } from '../../concentrator/store/events/insert.js';
import { toRow } from '../../concentrator/store/events/schema.js';
import { T0, ev } from './events.fixtures.test.js';

function tempFile(t: { after: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rl-writer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'switchlog.sqlite');
}

test('ingest through the writer thread: stored once, duplicates told, visible to reads, still there after a reopen', async (t) => {
  const path = tempFile(t);
  const db = openEventsDb(path);
  const writer = sqliteEventWriter(path);
  const store = new EventStore(db, { now: () => T0 + 5000, writer });
  const [a, b] = await store.ingestMany([[ev(1), ev(2)], [ev(2), ev(3), ev(1, { vehicle: 'van-2' })]]);
  assert.deepEqual(a!.inserted.map((e) => e.seq), [1, 2]);
  assert.equal(a!.duplicates, 0);
  assert.deepEqual(b!.inserted.map((e) => `${e.vehicle}#${e.seq}`), ['bus-7#3', 'van-2#1'], "another vehicle's event with the same id is its own");
  assert.equal(b!.duplicates, 1);
  const again = await store.ingest([ev(3), ev(4)]);
  assert.deepEqual([again.inserted.map((e) => e.seq), again.duplicates], [[4], 1]);
  assert.deepEqual((await store.query({ vehicle: 'bus-7' })).map((e) => e.seq), [1, 2, 3, 4], 'the main connection reads what the thread committed');
  await writer.close();
  db.close();
  const reopened = new EventStore(openEventsDb(path));
  assert.equal(await reopened.count(), 5);
  await reopened.store.close();
});

test('a batch the database refuses stores nothing of the transaction, and the error keeps SQLite\'s code', async (t) => {
  const path = tempFile(t);
  const db = openEventsDb(path);
  const writer = sqliteEventWriter(path);
  t.after(async () => (await writer.close(), db.close()));
  const params = (n: number, over: Partial<Record<(typeof COLUMNS)[number], unknown>> = {}) => {
    const r = { ...toRow(ev(n), T0), ...over } as Record<string, unknown>;
    return COLUMNS.map((c) => (c === 'id' ? (r.id as Buffer).toString('hex') : r[c]));
  };
  // Row 600 is in the second INSERT (500 rows a statement): the first one's rows must be rolled back too.
  const rows = Array.from({ length: 700 }, (_, i) => params(i + 1, i === 599 ? { to_uplink: null } : {})).flat();
  await assert.rejects(writer.insert(rows), (e: Error & { code?: string }) => e.code === 'SQLITE_CONSTRAINT_NOTNULL' && /to_uplink/.test(e.message));
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM switch_events').get() as { n: number }).n, 0);
  const ok = await writer.insert(params(1));
  assert.equal(ok.length, 1, 'the thread serves the next write');
});

test('prune through the writer: by HQ\'s receive time, a chunk at a time', async (t) => {
  const path = tempFile(t);
  const db = openEventsDb(path);
  let now = T0;
  const writer = sqliteEventWriter(path);
  const store = new EventStore(db, { now: () => now, writer });
  t.after(async () => (await writer.close(), db.close()));
  for (let n = 1; n <= 25; n++) {
    now = T0 + n * 1000;
    await store.ingest([ev(n)]);
  }
  assert.equal(await store.prune(T0 + 20_500, 7), 20);
  assert.deepEqual((await store.query({})).map((e) => e.seq), [21, 22, 23, 24, 25]);
});

test('after close, a write is refused rather than lost silently', async (t) => {
  const path = tempFile(t);
  const db = openEventsDb(path);
  t.after(() => db.close());
  const writer = sqliteEventWriter(path);
  const store = new EventStore(db, { writer });
  await store.ingest([ev(1)]);
  await writer.close();
  await assert.rejects(store.ingest([ev(2)]), /closed/);
  assert.equal(await store.count(), 1);
});
