// Opening the vehicle registry with the rules an HQ config sets: shared by the daemon and `roamlink vehicle …`, and
// light (no fastify), so a CLI command that changes the registry starts fast (a revocation is timed from the command).
import { join } from 'node:path';
import type { HqConfig } from '../../../shared/config/hq.js';
import { openDb, type Db } from '../db.js';
import { VehicleService } from './service.js';

export function registryPath(cfg: HqConfig): string {
  return join(cfg.state_dir, 'registry.sqlite');
}

export function keysDir(cfg: HqConfig): string {
  return join(cfg.state_dir, 'keys');
}

/** Opens the registry with the rules this config sets (the CLI and the daemon share it). */
export function openVehicles(cfg: HqConfig, hqPublicKey?: string): { db: Db; vehicles: VehicleService } {
  const db = openDb(registryPath(cfg));
  const vehicles = new VehicleService(db, {
    tunnelNetwork: cfg.tunnel_network,
    lanSubnets: cfg.lan_subnets,
    vehicleSubnets: cfg.vehicle_subnets,
    hqPublicKey,
    keysDir: keysDir(cfg),
  });
  return { db, vehicles };
}

