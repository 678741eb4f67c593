// The switch log query as people write it (CLI flags, API query strings): checked, turned into a store filter; errors name the field.
import { InputError } from '../../shared/errors.js';
import { parseDuration } from '../../shared/duration.js';
import { isReason, REASONS } from '../../shared/reasons.js';
import { siteName, uplinkName, vehicleName } from '../../shared/wire/common.js';
import type { LogFilter } from '../store/events/service.js';
import type { z } from 'zod';

export interface LogParams {
  vehicle?: string;
  site?: string;
  uplink?: string;
  reason?: string;
  /** A duration back from now (2h, 30m, 7d) or an ISO time. */
  since?: string;
  /** An ISO time, or a duration back from now. */
  until?: string;
  /** Cursor: only events stored after it. */
  after?: string;
  limit?: string;
  /** `desc`: newest first. */
  order?: string;
}

/** A duration ago or an ISO time, as ms since the epoch. */
export function parseTimeOrAgo(text: string, now: number, field: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/.test(t)) return now - parseDuration(t);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new InputError(`"${text}" is neither a duration (e.g. 2h, 30m, 7d) nor an ISO time (e.g. 2026-11-21T10:00:00Z)`, field);
}

function check<S extends z.ZodType<string>>(schema: S, v: string, field: string): string {
  const r = schema.safeParse(v);
  if (!r.success) throw new InputError(`"${v}" ${r.error.issues[0]!.message}`, field);
  return r.data;
}

/** Checks each given parameter; `name(k)` is how the field is called where it came from (`--since` or `since`). */
export function parseLogParams(p: LogParams, now: number, name: (k: keyof LogParams) => string = (k) => k): LogFilter {
  const f: LogFilter = {};
  if (p.vehicle !== undefined) f.vehicle = check(vehicleName, p.vehicle, name('vehicle'));
  if (p.site !== undefined) f.site = check(siteName, p.site, name('site'));
  if (p.uplink !== undefined) f.uplink = check(uplinkName, p.uplink, name('uplink'));
  if (p.reason !== undefined) {
    if (!isReason(p.reason)) throw new InputError(`"${p.reason}" is not a reason (one of ${REASONS.join(', ')})`, name('reason'));
    f.reason = p.reason;
  }
  if (p.since !== undefined) f.sinceMs = parseTimeOrAgo(p.since, now, name('since'));
  if (p.until !== undefined) f.untilMs = parseTimeOrAgo(p.until, now, name('until'));
  if (f.sinceMs !== undefined && f.untilMs !== undefined && f.untilMs < f.sinceMs) throw new InputError('is before since', name('until'));
  if (p.after !== undefined) {
    if (!/^\d{1,15}$/.test(p.after)) throw new InputError(`"${p.after}" is not a cursor (a whole number)`, name('after'));
    f.afterRowid = Number(p.after);
  }
  if (p.limit !== undefined) {
    if (!/^\d{1,6}$/.test(p.limit) || Number(p.limit) < 1) throw new InputError(`"${p.limit}" is not a count (1-999999)`, name('limit'));
    f.limit = Number(p.limit);
  }
  if (p.order !== undefined) {
    if (p.order !== 'asc' && p.order !== 'desc') throw new InputError(`"${p.order}" must be asc or desc`, name('order'));
    f.desc = p.order === 'desc';
  }
  return f;
}
