// Repeating work on an actor's own clock: real timers in the agent, XState's SimulatedClock in tests. For readings that
// are cheap and frequent (the tunnel's counters, the active radio's signal): a timer and a callback per reading, where a
// delayed transition and a promise actor per reading would cost a macrostep, and an actor, each time.
import type { AnyActorRef } from 'xstate';

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Node's timers. */
export const REAL_CLOCK: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** The clock an actor runs on: the one its system was created with (createActor's `clock` option). */
export function clockOf(self: AnyActorRef): Clock {
  return (self as unknown as { clock: Clock }).clock;
}

/**
 * Runs `fn` now and then every `ms` on `clock`; an async `fn` is not overlapped: the next run is timed from when it
 * settles. Returns the stop (no run starts after it).
 */
export function every(clock: Clock, ms: number, fn: () => void | Promise<unknown>): () => void {
  let stopped = false;
  let timer: unknown;
  const run = () => {
    if (stopped) return;
    let r: void | Promise<unknown>;
    try {
      r = fn();
    } catch {
      r = undefined;
    }
    if (r instanceof Promise) void r.catch(() => {}).then(next);
    else next();
  };
  const next = () => {
    if (!stopped) timer = clock.setTimeout(run, ms);
  };
  run();
  return () => {
    stopped = true;
    if (timer !== undefined) clock.clearTimeout(timer);
  };
}

/**
 * An abort signal that fires after `ms` on `clock` (an actor's: clockOf), or with `parent`, and its release: once the work is done, release() clears
 * the timer, so a reading that answered in a millisecond does not cost a wakeup `ms` later (AbortSignal.timeout's timer
 * always fires).
 */
export function boundedSignal(ms: number, parent?: AbortSignal, clock: Clock = REAL_CLOCK): { signal: AbortSignal; release: () => void } {
  const ac = new AbortController();
  const timer = clock.setTimeout(() => ac.abort(new DOMException('timed out', 'TimeoutError')), ms);
  const onParent = () => ac.abort(parent!.reason);
  if (parent?.aborted) ac.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: ac.signal,
    release: () => {
      clock.clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}
