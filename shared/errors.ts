// Input errors that name the field and what was wrong; the CLI turns them into exit code 2.
import type { z } from 'zod';

export class InputError extends Error {
  constructor(
    message: string,
    /** Dotted path of the offending field, e.g. `aps[1].signal[0]`. */
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'InputError';
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Parse with a zod schema; throw an InputError naming the first bad field (prefixed by `what`, e.g. the file). */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 5).map((i) => {
    const path = formatPath(i.path);
    return path ? `${path}: ${i.message}` : i.message;
  });
  throw new InputError(`${what}: ${issues.join('; ')}`);
}
