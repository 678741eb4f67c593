// A sliding-window rate limit as pure data: at most `max` events per `windowMs`.

export interface RateWindow {
  /** Times of the events still inside the window, oldest first. */
  times: number[];
}

export const emptyWindow: RateWindow = { times: [] };

/** Whether one more event fits now; when it does, `window` counts it. */
export function takeRate(w: RateWindow, now: number, max: number, windowMs: number): { ok: boolean; window: RateWindow } {
  const times = w.times.filter((t) => t > now - windowMs);
  if (times.length >= max) return { ok: false, window: { times } };
  return { ok: true, window: { times: [...times, now] } };
}
