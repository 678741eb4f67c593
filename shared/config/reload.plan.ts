// A config reload's plan, from the running config and the file's (both parsed): which fields changed, named by path
// (`policy.hysteresis_db`, `connect_list[1].psk`), never by value (a value may be a secret), and whether each can change
// live. Used by both daemons with their own lists of live fields (pure).
import { formatPath } from '../errors.js';

export interface ReloadPlan {
  /** Every changed field, sorted. */
  changed: string[];
  /** The changed fields a running daemon takes without a restart. */
  live: string[];
  /** The changed fields that need a restart: when any, the reload is refused and nothing changes. */
  refused: string[];
}

/** The paths of the leaves that differ between two plain values (objects, arrays, primitives) (pure). */
export function changedPaths(a: unknown, b: unknown, path: ReadonlyArray<string | number> = []): string[] {
  if (Object.is(a, b)) return [];
  const both = (t: (v: unknown) => boolean) => t(a) && t(b);
  if (both(Array.isArray)) {
    const x = a as unknown[];
    const y = b as unknown[];
    const out: string[] = [];
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      if (i >= x.length || i >= y.length) out.push(formatPath([...path, i]));
      else out.push(...changedPaths(x[i], y[i], [...path, i]));
    }
    return out;
  }
  const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (both(isObj)) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
    return keys.flatMap((k) => (x[k] === undefined && y[k] === undefined ? [] : changedPaths(x[k], y[k], [...path, k])));
  }
  return [path.length ? formatPath(path) : '(the whole config)'];
}

/** Whether a path is the field `prefix` or inside it (`policy` holds `policy.x`; `modem.sms` holds `modem.sms[0]`). */
export function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

/** The plan of a reload from `running` to `next`, given the fields that may change live (pure). */
export function planReload(running: unknown, next: unknown, live: readonly string[]): ReloadPlan {
  const changed = changedPaths(running, next);
  const isLive = (p: string) => live.some((l) => isUnder(p, l));
  return { changed, live: changed.filter(isLive), refused: changed.filter((p) => !isLive(p)) };
}

/** Paths for a short answer (an SMS): the first few, then how many more. */
export function listPaths(paths: readonly string[], max = 6): string {
  return paths.length <= max ? paths.join(', ') : `${paths.slice(0, max).join(', ')} and ${paths.length - max} more`;
}

/** The outcome of a reload, as the daemon answers it (SIGHUP's log line, the control API, an SMS reply). */
export interface ReloadOutcome {
  ok: boolean;
  /** Nothing changed, applied, refused (restart-only fields), invalid (the file is bad: the field is named), or failed while applying. */
  result: 'unchanged' | 'applied' | 'refused' | 'invalid' | 'failed';
  changed: string[];
  refused: string[];
  message: string;
}

/** The answer for a plan (pure); `restart` says how to restart this daemon. */
export function outcomeOf(plan: ReloadPlan, restart: string): ReloadOutcome {
  if (plan.changed.length === 0) return { ok: true, result: 'unchanged', changed: [], refused: [], message: 'no change: the file holds the running config' };
  if (plan.refused.length > 0) {
    return {
      ok: false, result: 'refused', changed: plan.changed, refused: plan.refused,
      message: `refused, nothing changed: ${listPaths(plan.refused)} cannot change without a restart (${restart})`,
    };
  }
  return { ok: true, result: 'applied', changed: plan.changed, refused: [], message: `applied ${listPaths(plan.changed)}` };
}

/** The answer for a file that does not load or parse: the running config stays; the error names the field. */
export function invalidOutcome(err: unknown): ReloadOutcome {
  return { ok: false, result: 'invalid', changed: [], refused: [], message: `refused, the running config stays: ${err instanceof Error ? err.message : String(err)}` };
}
