// The LTE probe budget at start: each LTE uplink's spend today, from state_dir (a restart does not start the day over).
import type { AgentConfig } from '../../shared/config/agent.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/log.js';
import { budgetPath, fileBudgetStore, type BudgetStore } from '../budget/store.js';
import { DEFAULT_BUDGET, type BudgetUsage, type ProbeBudget } from '../policy/budget.js';

export interface Budgets {
  budget: ProbeBudget;
  /** Per LTE uplink: its store (the uplink machine's onBudget records into it). */
  stores: Map<string, BudgetStore>;
  /** Per LTE uplink: today's spend as saved (absent: none, or a file that could not be used: warned). */
  usage: Map<string, BudgetUsage>;
  /** Writes what is not on disk yet (at stop). */
  flush(): void;
}

/** The budget from the config, and each LTE uplink's saved spend; a bad file is a warning naming it, never a throw. */
export function loadBudgets(cfg: AgentConfig, log: Logger, clock: Clock): Budgets {
  const budget = { ...DEFAULT_BUDGET, bytes_per_day: cfg.lte_budget.bytes_per_day, min_interval_ms: cfg.lte_budget.min_interval_ms };
  const stores = new Map<string, BudgetStore>();
  const usage = new Map<string, BudgetUsage>();
  for (const u of cfg.uplinks) {
    if (u.kind !== 'lte') continue;
    const path = budgetPath(cfg.state_dir, u.name);
    const store = fileBudgetStore(path, { budget, clock, warn: (msg) => log.warn({ event: 'budget.store', uplink: u.name, file: path }, msg) });
    stores.set(u.name, store);
    const used = store.load(clock.wallNow());
    if (!used) continue;
    usage.set(u.name, used);
    log.info({ event: 'budget.loaded', uplink: u.name, bytes: used.bytes, bytes_per_day: budget.bytes_per_day, day_start: new Date(used.day_start).toISOString() },
      `${u.name}: ${used.bytes} of today's ${budget.bytes_per_day} LTE probe bytes spent before this start (${path})`);
  }
  return { budget, stores, usage, flush: () => stores.forEach((s) => s.flush()) };
}
