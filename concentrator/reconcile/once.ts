// One reconcile pass from outside the daemon (`roamlink vehicle revoke` when no concentrator answers): the kernel's
// peers and routes brought to the registry, so a revoked key stops passing traffic even with the daemon down.
import type { HqConfig } from '../../shared/config/hq.js';
import { run as defaultRun, type Runner } from '../../shared/exec.js';
import type { Logger } from '../../shared/log.js';
import type { WgDriver } from '../../shared/wg.js';
import type { RoutesDriver } from '../routes.js';
import type { VehicleService } from '../store/vehicles/service.js';
import { desiredFromVehicles } from './diff.js';
import { Reconciler, type ReconcileResult } from './reconciler.js';

export interface OnceDeps {
  wg: WgDriver;
  routes: RoutesDriver;
  log: Logger;
  run?: Runner;
}

/** null when the interface does not exist (nothing can pass traffic: nothing to do), else the pass's result. */
export async function reconcileOnce(cfg: Pick<HqConfig, 'interface'>, vehicles: Pick<VehicleService, 'active'>, d: OnceDeps): Promise<ReconcileResult | null> {
  const link = await (d.run ?? defaultRun)(['ip', 'link', 'show', 'dev', cfg.interface], { allowFail: true });
  if (link.exitCode !== 0) return null;
  const r = new Reconciler({ ifname: cfg.interface, wg: d.wg, routes: d.routes, log: d.log, desired: async () => desiredFromVehicles(await vehicles.active()) });
  return r.reconcile();
}
