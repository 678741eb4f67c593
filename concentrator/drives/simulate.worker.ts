// The worker thread's side of a site simulation (simulate.thread.ts): the drives' texts in, the comparison out.
import { parentPort, workerData } from 'node:worker_threads';
import { simulateDrives } from './simulate.js';
import type { SimulationJob } from './simulate.thread.js';

const job = workerData as SimulationJob;
try {
  parentPort!.postMessage({ ok: true, result: await simulateDrives(job.drives, job.site, job.overrides, job.sinceWall, job.untilWall) });
} catch (err) {
  parentPort!.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
}
