// The one YAML reader of configs and scenarios: syntax errors, alias bombs and unresolved aliases become InputErrors.
import { isMap, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { InputError } from './errors.js';

/** More aliases than a hand-written config or scenario ever has; an alias bomb (a billion laughs) has far more. */
export const MAX_YAML_ALIASES = 100;

/** Nesting the yaml package parses in well under 10 ms; its time grows faster than linearly with depth (2026-12:
 * 1,000 levels of `a: a: …` on one line took 30–130 ms), and no config or scenario comes near. */
export const MAX_YAML_DEPTH = 32;
/** Longer than any config or scenario (the longest, a scenario with second-by-second traces, is tens of KB). */
export const MAX_YAML_CHARS = 1_000_000;

/**
 * Refuses, in one linear pass, text whose nesting would make the parser slow: more than MAX_YAML_DEPTH open flow
 * brackets, `key:` or `- ` on one line, or of indentation (in spaces, over 4 per level). Quotes are not tracked, so
 * a bracket inside a string counts: the limits are far above what real files use.
 */
function checkShape(text: string, what: string): void {
  if (text.length > MAX_YAML_CHARS) throw new InputError(`${what}: longer than ${MAX_YAML_CHARS} characters`);
  let line = 1;
  let flow = 0;
  let inline = 0;
  let indent = 0;
  let atStart = true;
  const tooDeep = () => new InputError(`${what}:${line}: YAML nested deeper than ${MAX_YAML_DEPTH} levels`);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      inline = 0;
      indent = 0;
      atStart = true;
      continue;
    }
    if (atStart) {
      if (c === 32) {
        if (++indent > MAX_YAML_DEPTH * 4) throw tooDeep();
        continue;
      }
      atStart = false;
    }
    if (c === 91 || c === 123) {
      if (++flow > MAX_YAML_DEPTH) throw tooDeep();
    } else if (c === 93 || c === 125) {
      if (flow > 0) flow--;
    } else if (c === 58 || c === 45) {
      // "key: " and "- " open a level on this line.
      const n = text.charCodeAt(i + 1);
      if ((n === 32 || n === 9 || n === 10 || n === 13 || Number.isNaN(n)) && ++inline > MAX_YAML_DEPTH) throw tooDeep();
    }
  }
}

/** YAML text to a plain value; every failure is an InputError naming `what` (and the line and column when known). */
export function parseYaml(text: string, what: string): unknown {
  checkShape(text, what);
  // The package's own duplicate-key check compares every key with every other (3,200 keys: 110 ms, 2026-12);
  // keys are checked below in one pass instead.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? `${what}:${pos.line}:${pos.col}` : what;
    const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new InputError(`${where}: YAML syntax: ${msg}`);
  }
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(k)) {
          const at = isScalar(pair.key) && pair.key.range ? lineCounter.linePos(pair.key.range[0]) : undefined;
          throw new InputError(`${at ? `${what}:${at.line}:${at.col}` : what}: YAML: the key "${k.slice(0, 40)}" appears twice`);
        }
        seen.add(k);
      }
    },
  });
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    // The yaml package throws a ReferenceError for an alias bomb ("Excessive alias count") and an unresolved alias.
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    throw new InputError(`${what}: YAML: ${msg}`);
  }
}
