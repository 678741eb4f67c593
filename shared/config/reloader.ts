// A daemon's config reload (SIGHUP, `systemctl reload`, the control API, SMS RELOAD): read and parse the file, plan
// (shared/config/reload.plan.ts), check, apply; one at a time. A bad file or a restart-only change leaves the running
// config as it is and says why, naming the field; the daemon keeps running either way.
import type { Logger } from '../log.js';
import { invalidOutcome, outcomeOf, planReload, type ReloadOutcome, type ReloadPlan } from './reload.plan.js';

export interface ReloaderDeps<C> {
  /** Reads and parses the file; throws an InputError naming the bad field. */
  load(): Promise<C>;
  /** The config in effect at start; the reloader holds the running config from then on. */
  initial: C;
  /** The fields that may change live (paths, e.g. `policy`, `modem.sms`). */
  live: readonly string[];
  /** How to restart the daemon, for the refusal's message. */
  restart: string;
  /** What the file needs beyond its schema (secret files readable, ...); throws an InputError naming the field. */
  verify?(next: C, plan: ReloadPlan): Promise<void>;
  /** Puts the live changes into effect; the reloader then holds `next` as the running config. */
  apply(next: C, plan: ReloadPlan): void | Promise<void>;
  log: Logger;
}

export interface Reloader {
  /** One reload; `source` says who asked (SIGHUP, sms, control). Never throws: the outcome says what happened. */
  reload(source: string): Promise<ReloadOutcome>;
  /** How many reloads applied a change since start. */
  readonly applied: number;
}

/** A reloader that also says which config is in effect (the last one applied, or the initial). */
export interface ConfigReloader<C> extends Reloader {
  running(): C;
}

export function createReloader<C>(deps: ReloaderDeps<C>): ConfigReloader<C> {
  let running = deps.initial;
  let chain: Promise<unknown> = Promise.resolve();
  let applied = 0;
  const once = async (source: string): Promise<ReloadOutcome> => {
    let outcome: ReloadOutcome;
    try {
      const next = await deps.load();
      const plan = planReload(running, next, deps.live);
      outcome = outcomeOf(plan, deps.restart);
      if (outcome.result === 'applied') {
        await deps.verify?.(next, plan);
        try {
          await deps.apply(next, plan);
          running = next;
          applied++;
        } catch (err) {
          outcome = { ...outcome, ok: false, result: 'failed', message: `failed while applying ${outcome.changed.join(', ')} (a restart applies the file): ${err instanceof Error ? err.message : String(err)}` };
        }
      }
    } catch (err) {
      outcome = invalidOutcome(err);
    }
    const fields = { event: 'config.reload', source, result: outcome.result, changed: outcome.changed, refused: outcome.refused };
    if (outcome.ok) deps.log.info(fields, `config reload (${source}): ${outcome.message}`);
    else deps.log.error(fields, `config reload (${source}): ${outcome.message}`);
    return outcome;
  };
  return {
    reload(source) {
      const r = chain.then(() => once(source));
      chain = r.catch(() => {});
      return r;
    },
    get applied() {
      return applied;
    },
    running: () => running,
  };
}
