// The switch log as CSV (RFC 4180) for a spreadsheet: one row per stored event, the columns an operator sorts by;
// text a vehicle sent cannot become a formula (a cell starting = + - @ or a control character is quoted with a ').
import type { StoredEvent } from '../store/events/schema.js';

export const LOG_CSV_COLUMNS = ['at', 'vehicle', 'from', 'to', 'reason', 'site', 'ms_to_first_packet', 'gap_ms', 'time_quality', 'why', 'id'] as const;

/** One CSV cell (pure): quoted when it holds a comma, quote or line break; a would-be formula made text. */
export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The events as CSV text with a header line, CRLF line ends (pure). */
export function switchLogCsv(events: readonly StoredEvent[]): string {
  const rows = events.map((e) => [e.at, e.vehicle, e.from, e.to, e.reason, e.site, e.ms_to_first_packet, e.gap_ms, e.time_quality, e.why?.text ?? null, e.id].map(csvCell).join(','));
  return `${[LOG_CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}
