// Site simulations off HQ's event loop (POST /v1/sites/:name/simulate): the replays run in a worker thread, one at a
// time and within a time bound, so a week of a busy site never holds up the agents' API, the reconcile or the dashboard.
import { Worker } from 'node:worker_threads';
import type { Site } from '../../shared/wire/site-profile.js';
import type { PolicyOverrides } from '../../shared/policy.js';
import type { SiteDrive, SiteSimulation } from './simulate.js';

export interface SimulationJob {
  drives: SiteDrive[];
  site: Site;
  overrides: PolicyOverrides;
  sinceWall: number;
  untilWall: number;
}

/** Another simulation is running, or this one ran past its bound (the worker was stopped). */
export class SimulationBusyError extends Error {}

export interface SimulationRunner {
  run(job: SimulationJob): Promise<SiteSimulation>;
}

/** Runs each job in a fresh worker thread; refuses a second while one runs; stops one after `timeoutMs`. */
export function workerSimulations(o: { timeoutMs?: number } = {}): SimulationRunner {
  const timeoutMs = o.timeoutMs ?? 120_000;
  let running = false;
  return {
    async run(job) {
      if (running) throw new SimulationBusyError('another simulation is running: try again when it is done');
      running = true;
      const worker = new Worker(new URL('./simulate.worker.js', import.meta.url), { workerData: job });
      try {
        return await new Promise<SiteSimulation>((resolve, reject) => {
          const timer = setTimeout(() => {
            reject(new SimulationBusyError(`the simulation took longer than ${timeoutMs / 1000} s and was stopped: try a shorter window (since)`));
            void worker.terminate();
          }, timeoutMs);
          worker.once('message', (m: { ok: true; result: SiteSimulation } | { ok: false; message: string }) => {
            clearTimeout(timer);
            if (m.ok) resolve(m.result);
            else reject(new Error(m.message));
          });
          worker.once('error', (err) => (clearTimeout(timer), reject(err)));
          worker.once('exit', (code) => (clearTimeout(timer), reject(new Error(`the simulation's worker exited (${code})`))));
        });
      } finally {
        running = false;
        void worker.terminate();
      }
    },
  };
}
