// Node's timers behind the loop's small interface, unref'd: a pending pass never keeps the daemon alive on its own.
import type { LoopTimer } from './loop.js';

export const realTimer: LoopTimer = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear(h) {
    clearTimeout(h as NodeJS.Timeout);
  },
};
