// Starts the enrollment listener (enroll_listen) on the registry's store; closed with the daemon.
import type { HqConfig } from '../../shared/config/hq.js';
import { loadAdminTls } from '../../shared/config/admin-tls.js';
import type { Logger } from '../../shared/log.js';
import { listenAddress } from '../admin/http.js';
import type { EnrollmentService } from '../store/enrollments/service.js';
import type { VehicleService } from '../store/vehicles/service.js';
import { buildEnrollHttp } from './http.js';

export async function startEnrollment(cfg: HqConfig, d: { publicKey: string; vehicles: VehicleService; enrollments: EnrollmentService; log: Logger; onEnrolled?: (vehicle: string) => void }) {
  const codes = d.enrollments; // closed with the stores
  const tls = cfg.admin_tls ? await loadAdminTls(cfg.admin_tls) : undefined;
  const app = buildEnrollHttp({
    codes, vehicles: d.vehicles, log: d.log, ...(tls ? { tls } : {}), ...(d.onEnrolled ? { onEnrolled: d.onEnrolled } : {}),
    concentrator: {
      public_key: d.publicKey, tunnel_address: cfg.tunnel_address, listen_port: cfg.listen_port, probe_port: cfg.probe_port,
      api_port: cfg.agent_api_port, routes: cfg.lan_subnets,
    },
  });
  await app.listen(listenAddress(cfg.enroll_listen!));
  d.log.info({ listen: cfg.enroll_listen, scheme: tls ? 'https' : 'http', ...(tls ? { sha256: tls.fingerprint256 } : {}) }, 'enrollment listening (roamlink enroll CODE)');
  return {
    async close() {
      await app.close().catch(() => {});
    },
  };
}
