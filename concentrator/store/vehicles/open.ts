// Opening the vehicle registry with the rules an HQ config sets: shared by the daemon and `roamlink vehicle …`, and
// light (no fastify), so a CLI command that changes the registry starts fast (a revocation is timed from the command).
// SQLite: registry.sqlite under state_dir; with `database`: the same PostgreSQL the daemon uses (never a file behind it).
import { join } from 'node:path';
import type { HqConfig } from '../../../shared/config/hq.js';
import { openDb } from '../db.js';
import { sqliteStore } from '../sql.js';
import { VehicleService } from './service.js';
import { EnrollmentService } from '../enrollments/service.js';
import { OperatorStore } from '../operators/service.js';

export function registryPath(cfg: Pick<HqConfig, 'state_dir'>): string {
  return join(cfg.state_dir, 'registry.sqlite');
}

export function keysDir(cfg: Pick<HqConfig, 'state_dir'>): string {
  return join(cfg.state_dir, 'keys');
}

/** Opens the registry (with its enrollment codes, audit and operators) with the rules this config sets; close() when done. */
export async function openVehicles(cfg: HqConfig, hqPublicKey?: string): Promise<{ vehicles: VehicleService; enrollments: EnrollmentService; operators: OperatorStore; close: () => Promise<void> }> {
  const store = cfg.database ? await (await import('../postgres.js')).openPostgres(cfg.database, { max: 1 }) : sqliteStore(openDb(registryPath(cfg)));
  const vehicles = new VehicleService(store, {
    tunnelNetwork: cfg.tunnel_network,
    lanSubnets: cfg.lan_subnets,
    vehicleSubnets: cfg.vehicle_subnets,
    hqPublicKey,
    keysDir: keysDir(cfg),
  });
  return { vehicles, enrollments: new EnrollmentService(store), operators: new OperatorStore(store), close: () => store.close() };
}
