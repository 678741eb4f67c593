// The switch log's ingest INSERT, one text per row count in each dialect: used by EventStore and by the SQLite writer thread.
import type { DialectName } from '../sql.js';

/** The columns an ingest writes, in the order of its parameters. */
export const COLUMNS = ['id', 'vehicle', 'seq', 'at', 'from_uplink', 'to_uplink', 'reason', 'site', 'ms_to_first_packet', 'gap_ms', 'detail', 'received_at', 'vehicle_at', 'time_quality', 'clock_offset_ms'] as const;
export const COLUMN_COUNT = COLUMNS.length;
/** Rows per INSERT statement: 15 parameters each, well inside SQLite's and PostgreSQL's limits. */
export const INSERT_ROWS = 500;

/** The ingest's INSERT for `rows` rows, as text with the dialect's placeholders, made once per size: building it
 *  through Kysely's sql template (15 parameters a row, compiled on every commit) was a fifth of HQ's main thread at
 *  5,000 events/s (bench/hq's CPU profile, 2026-12-03). Only a duplicate (vehicle, id) is skipped. */
const insertTexts = new Map<string, string>();
export function insertText(dialect: DialectName, rows: number): string {
  const k = `${dialect}:${rows}`;
  let text = insertTexts.get(k);
  if (!text) {
    let n = 0;
    const ph = () => (dialect === 'postgres' ? `$${++n}` : '?');
    const values = Array.from({ length: rows }, () => `(${COLUMNS.map(ph).join(', ')})`).join(', ');
    text = `INSERT INTO switch_events (${COLUMNS.join(', ')}) VALUES ${values} ON CONFLICT (vehicle, id) DO NOTHING RETURNING vehicle, id`;
    insertTexts.set(k, text);
  }
  return text;
}
