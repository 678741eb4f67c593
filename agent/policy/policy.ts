// The arbiter's thresholds and their defaults: defined once in shared/policy.ts (a schema with units), re-exported for the agent.
export { activeProbeIntervalMs, DEFAULT_POLICY, policyWith, type LtePreference, type Policy, type PolicyOverrides } from '../../shared/policy.js';
