// The agent's config reload: which fields change live and how each is put into effect (the arbiter's policy, the
// radios' connect-list, the modem's SMS and balance settings, the log level); everything else needs a restart.
import type { AgentConfig } from '../../shared/config/agent.js';
import type { ConnectList } from '../../shared/config/connect-list.js';
import type { ModemConfig } from '../../shared/config/modem.js';
import { isUnder, type ReloadPlan } from '../../shared/config/reload.plan.js';
import { createReloader, type ConfigReloader } from '../../shared/config/reloader.js';
import type { Logger } from '../../shared/log.js';
import { readSmsSecret } from '../modem.services.js';
import { policyWith, type Policy } from '../policy/policy.js';

/**
 * The fields a running agent takes without a restart. Not here, so refused by a reload (a restart applies them): the
 * tunnel (wireguard.*: key, interface, address, mark), the concentrator, the LAN, the uplinks (interfaces, kinds,
 * slots), the modem's port, SIM and bearer, the watchdog, the LTE budget, the drive shipping, the switch's timing,
 * the sockets and directories.
 */
export const AGENT_LIVE_FIELDS = ['policy', 'connect_list', 'modem.sms', 'modem.balance', 'log_level'] as const;

export const AGENT_RESTART = 'systemctl restart roamlink-agent: the tunnel and its data plane stay up';

/** Where the reload's changes go: each a small call into the running agent. */
export interface AgentReloadTargets {
  /** The config's policy (the arbiter takes it unless a site's profile is in effect). */
  policy(p: Policy): void;
  connectList(list: ConnectList): void;
  /** The modem's SMS and balance settings (absent: no modem runs, and `modem` itself is restart-only). */
  modem(m: ModemConfig): void;
  logLevel(level: string): void;
}

/** What a plan asks of each target (pure): the parts whose fields changed. */
export function agentReloadParts(plan: ReloadPlan): { policy: boolean; connectList: boolean; modem: boolean; logLevel: boolean } {
  const any = (prefix: string) => plan.live.some((p) => isUnder(p, prefix));
  return { policy: any('policy'), connectList: any('connect_list'), modem: any('modem.sms') || any('modem.balance'), logLevel: any('log_level') };
}

/** The checks beyond the schema that a start makes too: a new SMS secret file must be readable and long enough. */
export async function verifyAgentReload(next: AgentConfig, plan: ReloadPlan): Promise<void> {
  if (agentReloadParts(plan).modem) await readSmsSecret(next.modem?.sms?.secret_file);
}

export function createAgentReloader(o: {
  load: () => Promise<AgentConfig>;
  initial: AgentConfig;
  targets: AgentReloadTargets;
  log: Logger;
  onApplied?: (next: AgentConfig) => void;
}): ConfigReloader<AgentConfig> {
  return createReloader<AgentConfig>({
    load: o.load,
    initial: o.initial,
    live: AGENT_LIVE_FIELDS,
    restart: AGENT_RESTART,
    verify: verifyAgentReload,
    apply(next, plan) {
      const parts = agentReloadParts(plan);
      if (parts.logLevel) o.targets.logLevel(next.log_level);
      if (parts.policy) o.targets.policy(policyWith(next.policy));
      if (parts.connectList) o.targets.connectList(next.connect_list);
      if (parts.modem && next.modem) o.targets.modem(next.modem);
      o.onApplied?.(next);
    },
    log: o.log,
  });
}
