// What `roamlink status` shows of the running config (after the last reload): the live fields, never a secret (pure).
import type { AgentConfig } from '../../shared/config/agent.js';
import { describeEntry } from '../../shared/config/connect-list.js';

export interface ConfigView {
  /** The connect-list as described in logs (no psk). */
  connect_list: string[];
  /** The config's policy overrides (a site's profile may be in effect over them: status's `policy` and `site`). */
  policy: AgentConfig['policy'];
  sms: { alert_numbers: number; command_numbers: number } | null;
  log_level: string;
  /** Reloads that applied a change since the agent started. */
  reloads: number;
}

export function configViewOf(cfg: AgentConfig, reloads: number): ConfigView {
  const sms = cfg.modem?.sms;
  return {
    connect_list: cfg.connect_list.map((e, i) => describeEntry(e, i)),
    policy: cfg.policy,
    sms: sms ? { alert_numbers: sms.alert_numbers.length, command_numbers: sms.command_numbers.length } : null,
    log_level: cfg.log_level,
    reloads,
  };
}
