// Hooks for the lab tests only, read from the environment once; unset (every vehicle), each is a no-op.
// ROAMLINK_TEST_HOLD_OPERATOR_STEER_MS: after an operator switch is steered, wait this long before confirming it, so
// that a lab test can kill the agent between the steering and the confirmation (test/lab/agent-midswitch.test.ts).

export interface TestHooks {
  /** ms to wait between an operator switch's steering and its confirmation (0: none). */
  holdOperatorSteerMs: number;
}

export function testHooks(env: Record<string, string | undefined> = process.env): TestHooks {
  const hold = Number(env.ROAMLINK_TEST_HOLD_OPERATOR_STEER_MS ?? 0);
  return { holdOperatorSteerMs: Number.isFinite(hold) && hold > 0 ? Math.min(hold, 60_000) : 0 };
}
