// The control socket (roamlink status, roamlink switch): a fresh unix socket at control_socket.
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Actor, AnyStateMachine } from 'xstate';
import type { AgentConfig } from '../../shared/config/agent.js';
import type { Logger } from '../../shared/log.js';
import { buildControlApp, type ControlDeps } from '../control.js';

export async function serveControl(cfg: AgentConfig, arbiter: Actor<AnyStateMachine>, log: Logger, modem: () => unknown, more: Pick<ControlDeps, 'reload' | 'config' | 'health'> = {}) {
  const app = buildControlApp({ arbiter, log, modem, ...more });
  await mkdir(dirname(cfg.control_socket), { recursive: true });
  await rm(cfg.control_socket, { force: true });
  await app.listen({ path: cfg.control_socket });
  return {
    async close() {
      await app.close().catch(() => {});
      await rm(cfg.control_socket, { force: true });
    },
  };
}
