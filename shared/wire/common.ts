// Field rules shared by every wire message (names, times), and the field-naming error a bad message gets back.
import { z } from 'zod';
import { formatPath } from '../errors.js';

/** A vehicle's name, as the registry allows it. */
export const vehicleName = z.string().regex(/^[a-z0-9][a-z0-9\-_.]{0,62}$/, 'must be a vehicle name (1-63 of a-z 0-9 - _ .)');
/** An uplink: the agent's interface name. */
export const uplinkName = z.string().regex(/^[a-zA-Z0-9_=+.-]{1,15}$/, 'must be an interface name (1-15 of a-z A-Z 0-9 _=+.-)');
/** A site's name, as the registry allows it. */
export const siteName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 \-_.]{0,62}$/, 'must be a site name (1-63 of letters, digits, space - _ ., starting with a letter or digit)');
/** A time on the wire: ISO 8601 with a zone, e.g. 2026-11-21T10:00:00.123Z. */
export const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with a zone (e.g. 2026-11-21T10:00:00.123Z)' });
/** dBm as radios and modems report it. */
export const dbm = z.number().min(-150, 'must be ≥ -150 dBm').max(0, 'must be ≤ 0 dBm');

/** What a refused message gets back: the first bad field (dotted path, e.g. `events[3].to`) and why. */
export interface WireIssue {
  field: string;
  message: string;
}

export function firstIssue(err: z.ZodError, prefix = ''): WireIssue {
  const i = err.issues[0]!;
  const path = formatPath(i.path);
  const field = prefix && path ? `${prefix}.${path}` : prefix || path || '(body)';
  return { field, message: i.message };
}

export type ParseResult<T> = { ok: true; value: T } | ({ ok: false } & WireIssue);

/** Parses a wire message; on failure names the first bad field. Never throws. */
export function parseWire<S extends z.ZodType>(schema: S, value: unknown): ParseResult<z.output<S>> {
  const r = schema.safeParse(value);
  return r.success ? { ok: true, value: r.data } : { ok: false, ...firstIssue(r.error) };
}
