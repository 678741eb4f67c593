// The drives store (DriveRepository), one SQL for SQLite and PostgreSQL (store/sql.ts): pieces appended in byte order per (vehicle, segment), a resend's part
// already held dropped, a piece past the end refused as a gap; each piece kept brotli-compressed.
import { sql, type RawBuilder } from 'kysely';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { sqliteStore, type StoreDb } from '../sql.js';
import type { DrivesDb } from './db.js';
import type { AppendResult, DrivePiece, DriveRepository, SegmentFilter, StoredSegment } from './repository.js';

interface SegmentRow {
  vehicle: string;
  segment: string;
  start_wall: number;
  last_wall: number;
  have: number;
  received_at: number;
}

const NL = 0x0a;

export class SqlDriveStore implements DriveRepository {
  readonly store: StoreDb;

  constructor(
    /** The drives' database: an open SQLite file (openDrivesDb) or a store (SQLite or PostgreSQL). */
    db: DrivesDb | StoreDb,
  ) {
    this.store = 'dialect' in db ? db : sqliteStore(db);
  }

  async have(vehicle: string, segment: string): Promise<number> {
    const r = (await sql<{ have: number }>`SELECT have FROM drive_segments WHERE vehicle = ${vehicle} AND segment = ${segment}`.execute(this.store.db)).rows[0];
    return r?.have ?? 0;
  }

  async append(p: DrivePiece, receivedAt: number): Promise<AppendResult> {
    return this.store.db.transaction().execute(async (trx): Promise<AppendResult> => {
      // The segment's row locked (PostgreSQL): two resends of one piece take turns. SQLite's write lock is whole-file.
      const lock = this.store.dialect === 'postgres' ? sql` FOR UPDATE` : sql``;
      const seg = (await sql<{ have: number; start_wall: number; last_wall: number }>`SELECT have, start_wall, last_wall FROM drive_segments WHERE vehicle = ${p.vehicle} AND segment = ${p.segment}${lock}`.execute(trx)).rows[0];
      const have = seg?.have ?? 0;
      if (p.offset > have) return { kind: 'gap', have };
      const bytes = Buffer.from(p.text, 'utf8');
      const end = p.offset + bytes.length;
      if (end <= have) return { kind: 'ok', have, added: 0 };
      const skip = have - p.offset;
      // What is held ends at a line's end; a resend of the same file overlaps it there, or it is not the same file.
      if (skip > 0 && bytes[skip - 1] !== NL) return { kind: 'gap', have };
      let startWall = seg?.start_wall;
      if (startWall === undefined) {
        if (p.start_wall === null) return { kind: 'gap', have: 0 };
        startWall = p.start_wall;
        await sql`INSERT INTO drive_segments (vehicle, segment, start_wall, last_wall, have, received_at) VALUES (${p.vehicle}, ${p.segment}, ${startWall}, ${startWall}, 0, ${receivedAt})`.execute(trx);
      }
      const tail = skip > 0 ? bytes.subarray(skip) : bytes;
      const data = skip === 0 && p.compressed ? p.compressed : brotliCompressSync(tail, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
      await sql`INSERT INTO drive_pieces (vehicle, segment, "offset", size, data) VALUES (${p.vehicle}, ${p.segment}, ${have}, ${tail.length}, ${data})`.execute(trx);
      const lastWall = p.last_t === null ? (seg?.last_wall ?? startWall) : startWall + p.last_t;
      await sql`UPDATE drive_segments SET have = ${end}, last_wall = CASE WHEN last_wall > ${lastWall} THEN last_wall ELSE ${lastWall} END, received_at = ${receivedAt}
        WHERE vehicle = ${p.vehicle} AND segment = ${p.segment}`.execute(trx);
      for (const s of p.sites) await sql`INSERT INTO drive_sites (vehicle, segment, site) VALUES (${p.vehicle}, ${p.segment}, ${s}) ON CONFLICT DO NOTHING`.execute(trx);
      return { kind: 'ok', have: end, added: tail.length };
    });
  }

  async segments(f: SegmentFilter): Promise<StoredSegment[]> {
    const w: RawBuilder<unknown>[] = [];
    if (f.vehicle !== undefined) w.push(sql`s.vehicle = ${f.vehicle}`);
    if (f.site !== undefined) w.push(sql`EXISTS (SELECT 1 FROM drive_sites x WHERE x.vehicle = s.vehicle AND x.segment = s.segment AND x.site = ${f.site})`);
    if (f.sinceWall !== undefined) w.push(sql`s.last_wall >= ${Math.floor(f.sinceWall)}`);
    if (f.untilWall !== undefined) w.push(sql`s.start_wall <= ${Math.floor(f.untilWall)}`);
    const where = w.length ? sql` WHERE ${sql.join(w, sql` AND `)}` : sql``;
    const segs = (await sql<SegmentRow>`SELECT s.* FROM drive_segments s${where} ORDER BY s.vehicle, s.start_wall, s.segment`.execute(this.store.db)).rows;
    // The sites each names, for the same segments (one query, grouped here: no group_concat/string_agg to tell apart).
    const named = (await sql<{ vehicle: string; segment: string; site: string }>`SELECT x.vehicle, x.segment, x.site FROM drive_sites x
      JOIN drive_segments s ON s.vehicle = x.vehicle AND s.segment = x.segment${where}`.execute(this.store.db)).rows;
    const sites = new Map<string, string[]>();
    for (const n of named) {
      const k = `${n.vehicle}\u0000${n.segment}`;
      sites.set(k, [...(sites.get(k) ?? []), n.site]);
    }
    return segs.map((r) => ({
      vehicle: r.vehicle, segment: r.segment, start_wall: r.start_wall, last_wall: r.last_wall, have: r.have, received_at: r.received_at,
      sites: (sites.get(`${r.vehicle}\u0000${r.segment}`) ?? []).sort(),
    }));
  }

  async text(vehicle: string, segment: string): Promise<string> {
    const rows = (await sql<{ data: Buffer }>`SELECT data FROM drive_pieces WHERE vehicle = ${vehicle} AND segment = ${segment} ORDER BY "offset"`.execute(this.store.db)).rows;
    return rows.map((r) => brotliDecompressSync(r.data).toString('utf8')).join('');
  }

  async prune(beforeMs: number): Promise<number> {
    return Number((await sql`DELETE FROM drive_segments WHERE received_at < ${Math.floor(beforeMs)}`.execute(this.store.db)).numAffectedRows ?? 0n);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

/** The name the SQLite-only store had: the same class. */
export { SqlDriveStore as SqliteDriveStore };
