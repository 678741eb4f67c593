// The drives store on SQLite (DriveRepository): pieces appended in byte order per (vehicle, segment), a resend's part
// already held dropped, a piece past the end refused as a gap; each piece kept brotli-compressed.
import type { Statement } from 'better-sqlite3';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { DrivesDb } from './db.js';
import type { AppendResult, DrivePiece, DriveRepository, SegmentFilter, StoredSegment } from './repository.js';

interface SegmentRow {
  vehicle: string;
  segment: string;
  start_wall: number;
  last_wall: number;
  have: number;
  received_at: number;
  sites: string | null;
}

const NL = 0x0a;

export class SqliteDriveStore implements DriveRepository {
  private readonly stmts = new Map<string, Statement>();

  constructor(readonly db: DrivesDb) {}

  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  async have(vehicle: string, segment: string): Promise<number> {
    const r = this.stmt('SELECT have FROM drive_segments WHERE vehicle = ? AND segment = ?').get(vehicle, segment) as { have: number } | undefined;
    return r?.have ?? 0;
  }

  async append(p: DrivePiece, receivedAt: number): Promise<AppendResult> {
    const tx = this.db.transaction((): AppendResult => {
      const seg = this.stmt('SELECT have, start_wall, last_wall FROM drive_segments WHERE vehicle = ? AND segment = ?').get(p.vehicle, p.segment) as
        | { have: number; start_wall: number; last_wall: number }
        | undefined;
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
        this.stmt('INSERT INTO drive_segments (vehicle, segment, start_wall, last_wall, have, received_at) VALUES (?, ?, ?, ?, 0, ?)').run(p.vehicle, p.segment, startWall, startWall, receivedAt);
      }
      const tail = skip > 0 ? bytes.subarray(skip) : bytes;
      const data = skip === 0 && p.compressed ? p.compressed : brotliCompressSync(tail, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
      this.stmt('INSERT INTO drive_pieces (vehicle, segment, offset, size, data) VALUES (?, ?, ?, ?, ?)').run(p.vehicle, p.segment, have, tail.length, data);
      const lastWall = p.last_t === null ? (seg?.last_wall ?? startWall) : startWall + p.last_t;
      this.stmt('UPDATE drive_segments SET have = ?, last_wall = MAX(last_wall, ?), received_at = ? WHERE vehicle = ? AND segment = ?').run(end, lastWall, receivedAt, p.vehicle, p.segment);
      for (const s of p.sites) this.stmt('INSERT OR IGNORE INTO drive_sites (vehicle, segment, site) VALUES (?, ?, ?)').run(p.vehicle, p.segment, s);
      return { kind: 'ok', have: end, added: tail.length };
    });
    return tx.immediate();
  }

  async segments(f: SegmentFilter): Promise<StoredSegment[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (f.vehicle !== undefined) (where.push('s.vehicle = @vehicle'), (params.vehicle = f.vehicle));
    if (f.site !== undefined) (where.push('EXISTS (SELECT 1 FROM drive_sites x WHERE x.vehicle = s.vehicle AND x.segment = s.segment AND x.site = @site)'), (params.site = f.site));
    if (f.sinceWall !== undefined) (where.push('s.last_wall >= @since'), (params.since = Math.floor(f.sinceWall)));
    if (f.untilWall !== undefined) (where.push('s.start_wall <= @until'), (params.until = Math.floor(f.untilWall)));
    const sql = `SELECT s.*, (SELECT group_concat(site, char(31)) FROM drive_sites x WHERE x.vehicle = s.vehicle AND x.segment = s.segment) AS sites
      FROM drive_segments s${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY s.vehicle, s.start_wall, s.segment`;
    return (this.stmt(sql).all(params) as SegmentRow[]).map((r) => ({
      vehicle: r.vehicle, segment: r.segment, start_wall: r.start_wall, last_wall: r.last_wall, have: r.have, received_at: r.received_at,
      sites: r.sites ? r.sites.split('\x1f').sort() : [],
    }));
  }

  async text(vehicle: string, segment: string): Promise<string> {
    const rows = this.stmt('SELECT data FROM drive_pieces WHERE vehicle = ? AND segment = ? ORDER BY offset').all(vehicle, segment) as Array<{ data: Buffer }>;
    return rows.map((r) => brotliDecompressSync(r.data).toString('utf8')).join('');
  }

  async prune(beforeMs: number): Promise<number> {
    return this.stmt('DELETE FROM drive_segments WHERE received_at < ?').run(Math.floor(beforeMs)).changes;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
