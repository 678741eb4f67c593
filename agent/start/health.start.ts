// The host health sampler at start (config `health`): the host driver on state_dir and the modem's serial port,
// sampled every interval_ms; null when health is off.
import type { Clock } from '../../shared/clock.js';
import type { AgentConfig } from '../../shared/config/agent.js';
import type { Logger } from '../../shared/log.js';
import { createHostDriver } from '../drivers/host/host.driver.js';
import { HealthSampler } from '../ship/health.js';

export function startHealth(cfg: AgentConfig, clock: Clock, log: Logger): HealthSampler | null {
  if (!cfg.health.enabled) return null;
  const sampler = new HealthSampler({
    driver: createHostDriver({ stateDir: cfg.state_dir, modemDevice: cfg.modem?.device ?? null, wallNow: () => clock.wallNow() }),
    timer: clock,
    intervalMs: cfg.health.interval_ms,
    onError: (err) => log.warn({ event: 'health.failed', err: err.message }, `host health: ${err.message}`),
  });
  sampler.start();
  return sampler;
}
