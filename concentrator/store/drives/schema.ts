// The drives database's tables (drives.sqlite): segments (one per vehicle's drive file), their pieces (brotli, in byte
// order) and the sites each names. Its own file: high volume, its own retention (drive_retention_days).
import { createTablesSql, type TableSpec } from '../table.js';

const SEGMENT_FK: NonNullable<TableSpec['foreignKeys']>[number] = { columns: ['vehicle', 'segment'], references: 'drive_segments', refColumns: ['vehicle', 'segment'], onDelete: 'CASCADE' };

export const DRIVE_SEGMENTS_TABLE: TableSpec = {
  name: 'drive_segments',
  columns: [
    { name: 'vehicle', kind: 'text', notNull: true },
    { name: 'segment', kind: 'text', notNull: true },
    { name: 'start_wall', kind: 'int', notNull: true },
    { name: 'last_wall', kind: 'int', notNull: true },
    { name: 'have', kind: 'int', notNull: true },
    { name: 'received_at', kind: 'int', notNull: true },
  ],
  primaryKey: ['vehicle', 'segment'],
  indexes: [{ name: 'drive_segments_received', columns: ['received_at'] }],
};

export const DRIVE_PIECES_TABLE: TableSpec = {
  name: 'drive_pieces',
  columns: [
    { name: 'vehicle', kind: 'text', notNull: true },
    { name: 'segment', kind: 'text', notNull: true },
    { name: 'offset', kind: 'int', notNull: true },
    { name: 'size', kind: 'int', notNull: true },
    { name: 'data', kind: 'blob', notNull: true },
  ],
  primaryKey: ['vehicle', 'segment', 'offset'],
  foreignKeys: [SEGMENT_FK],
};

export const DRIVE_SITES_TABLE: TableSpec = {
  name: 'drive_sites',
  columns: [
    { name: 'vehicle', kind: 'text', notNull: true },
    { name: 'segment', kind: 'text', notNull: true },
    { name: 'site', kind: 'text', notNull: true },
  ],
  primaryKey: ['vehicle', 'segment', 'site'],
  foreignKeys: [SEGMENT_FK],
  indexes: [{ name: 'drive_sites_site', columns: ['site'] }],
};

export const DRIVE_TABLES = [DRIVE_SEGMENTS_TABLE, DRIVE_PIECES_TABLE, DRIVE_SITES_TABLE] as const;

export const DRIVES_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [{ version: 1, sql: createTablesSql(DRIVE_TABLES, 'sqlite') }];
