// What the arbiter and each uplink machine start with, from the config, the policy and what adoption found (pure).
import type { AgentConfig } from '../../shared/config/agent.js';
import type { AdoptPlan } from '../adopt/adopt.plan.js';
import { COUNTER_INTERVAL_MS } from '../machines/arbiter.decide.js';
import type { ArbiterInput } from '../machines/arbiter.machine.js';
import type { UplinkInput } from '../machines/uplink.machine.js';
import type { WatchdogConfig } from '../machines/watchdog.machine.js';
import type { BudgetUsage, ProbeBudget } from '../policy/budget.js';
import type { Policy } from '../policy/policy.js';

/** Each uplink with its 1-based slot (its routing table and mark). */
export function slotsOf(cfg: AgentConfig) {
  return cfg.uplinks.map((u, i) => ({ ...u, slot: i + 1 }));
}

/** The LTE uplink whose bearer the modem dials (the first LTE uplink, with a modem configured): re-addressing it is a redial. */
export function modemUplinkOf(cfg: AgentConfig): string | null {
  return cfg.modem ? cfg.uplinks.find((u) => u.kind === 'lte')?.name ?? null : null;
}

/** The watchdog beyond the concentrator: none unless the config names hosts or a DNS check. */
export function watchdogOf(cfg: AgentConfig): WatchdogConfig | null {
  const w = cfg.watchdog;
  if (!w || (w.hosts.length === 0 && !w.dns)) return null;
  return { hosts: w.hosts, dns: w.dns ?? null, intervalMs: w.interval_ms, timeoutMs: w.timeout_ms, failures: w.failures, tunnelIf: cfg.wireguard.interface };
}

export function uplinkInputsOf(cfg: AgentConfig, policy: Policy, budget: ProbeBudget, usage: ReadonlyMap<string, BudgetUsage>, adopted: AdoptPlan): UplinkInput[] {
  const modemUplink = modemUplinkOf(cfg);
  return slotsOf(cfg).map((s): UplinkInput => ({
    name: s.name, slot: s.slot, kind: s.kind,
    probeIntervalMs: policy.probe_interval_ms, probeTimeoutMs: policy.probe_timeout_ms, maxMisses: 3,
    connectList: cfg.connect_list, scanIntervalMs: policy.scan_interval_ms, minSignal: policy.min_signal,
    budget, budgetUsage: usage.get(s.name) ?? null, redial: s.name === modemUplink,
    adopted: adopted.uplinks[s.name] ?? null,
  }));
}

/** The arbiter's input; the uplink found carrying the tunnel (adoption) starts active, with the address it is steered from. */
export function arbiterInputOf(cfg: AgentConfig, policy: Policy, adopted: AdoptPlan): ArbiterInput {
  const lease = adopted.active ? adopted.uplinks[adopted.active]?.lease : null;
  return {
    uplinks: cfg.uplinks.map((u) => u.name), initial: cfg.initial_uplink,
    settleMs: 1500, drainMs: cfg.timing.drain_ms, confirmTimeoutMs: cfg.timing.confirm_timeout_ms, confirmRetryMs: 50,
    policy, counterIntervalMs: COUNTER_INTERVAL_MS, watchdog: watchdogOf(cfg),
    adopted: adopted.active && lease ? { uplink: adopted.active, address: lease.address } : null,
  };
}
