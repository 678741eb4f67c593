// Start-up marks of a daemon, in ms since its process began: where the time goes between exec and answering.
import { performance } from 'node:perf_hooks';
const marks: Record<string, number> = {};

/** Records `name` now (the first time only). */
export function markStartup(name: string): void {
  marks[name] ??= Math.round(performance.now());
}

/** Every mark so far, with `node` (Node's own bootstrap done) first and the process's start as epoch ms (`origin`). */
export function startupMarks(): Record<string, number> {
  return { origin: Math.round(performance.timeOrigin), node: Math.round(performance.nodeTiming.bootstrapComplete), ...marks };
}
