// The modem recovery ladder: re-dial, then radio off and on, then a full reset; a pure decision and its executor.
import type { Logger } from '../../../shared/log.js';
import type { BearerConfig, ModemDriver } from './modem.driver.js';

export type RecoveryStep = 'redial' | 'radio-cycle' | 'reset';

export interface RecoveryPolicy {
  /** Re-dials before the radio is cycled. */
  redials: number;
  /** Radio off/on cycles before a reset. */
  radioCycles: number;
  /** Wait before each attempt of the ladder, by attempt number (the last value repeats), ms. */
  backoffMs: readonly number[];
  /** A reset at most this often; in between the ladder waits at its top. */
  minResetIntervalMs: number;
}

export const DEFAULT_RECOVERY: RecoveryPolicy = {
  redials: 2,
  radioCycles: 1,
  backoffMs: [0, 5_000, 15_000, 30_000],
  minResetIntervalMs: 10 * 60_000,
};

/** What the ladder remembers; plain data, so it can sit in a machine's context. */
export interface LadderState {
  /** Attempts since the bearer last worked (or since the last reset). */
  attempts: Array<{ step: RecoveryStep; at: number }>;
  lastResetAt?: number;
}

export const initialLadder: LadderState = { attempts: [] };

export type RecoveryDecision =
  | { action: 'step'; step: RecoveryStep; attempt: number; reason: string }
  | { action: 'wait'; until: number; reason: string };

/**
 * The next rung, given what was tried since the bearer last worked. Never gives up: at the top it waits
 * until a reset is allowed again. `now` and the state are all it looks at.
 */
export function nextRecovery(state: LadderState, now: number, policy: RecoveryPolicy = DEFAULT_RECOVERY): RecoveryDecision {
  const n = state.attempts.length;
  const last = state.attempts[n - 1];
  const backoff = policy.backoffMs[Math.min(n, policy.backoffMs.length - 1)] ?? 0;
  if (last && now < last.at + backoff) return { action: 'wait', until: last.at + backoff, reason: `backoff after ${last.step}` };
  const count = (s: RecoveryStep) => state.attempts.filter((a) => a.step === s).length;
  const redials = count('redial');
  if (redials < policy.redials) return { action: 'step', step: 'redial', attempt: redials + 1, reason: `bearer down, re-dial ${redials + 1} of ${policy.redials}` };
  const cycles = count('radio-cycle');
  if (cycles < policy.radioCycles) {
    return { action: 'step', step: 'radio-cycle', attempt: cycles + 1, reason: `${redials} re-dials failed, radio off and on (${cycles + 1} of ${policy.radioCycles})` };
  }
  if (state.lastResetAt !== undefined && now < state.lastResetAt + policy.minResetIntervalMs) {
    return { action: 'wait', until: state.lastResetAt + policy.minResetIntervalMs, reason: 'reset done recently; waiting before the next' };
  }
  return { action: 'step', step: 'reset', attempt: 1, reason: `${redials} re-dials and ${cycles} radio cycles failed, full reset` };
}

/** The state after an attempt; a reset starts the ladder again from the bottom. */
export function recordAttempt(state: LadderState, step: RecoveryStep, now: number): LadderState {
  if (step === 'reset') return { attempts: [], lastResetAt: now };
  return { ...state, attempts: [...state.attempts, { step, at: now }] };
}

/** The bearer works again: back to the bottom (the reset time is kept, so resets stay spaced). */
export function recordSuccess(state: LadderState): LadderState {
  return state.lastResetAt === undefined ? { attempts: [] } : { attempts: [], lastResetAt: state.lastResetAt };
}

/**
 * Carries out one step, logged. `redial` tears the bearer down and asks for it again; `radio-cycle` turns the
 * radio off and on (re-dial once registered); `reset` restarts the modem, which then vanishes and comes back.
 */
export async function executeRecoveryStep(
  driver: ModemDriver,
  decision: Extract<RecoveryDecision, { action: 'step' }>,
  ctx: { bearer: BearerConfig; signal: AbortSignal; log?: Logger },
): Promise<void> {
  const { signal, log } = ctx;
  log?.warn({ device: driver.device, step: decision.step, attempt: decision.attempt, reason: decision.reason }, 'modem recovery');
  try {
    switch (decision.step) {
      case 'redial':
        await driver.disconnect(signal);
        await driver.connect(ctx.bearer, signal);
        break;
      case 'radio-cycle':
        await driver.disconnect(signal);
        await driver.setRadio(false, signal);
        await driver.setRadio(true, signal);
        break;
      case 'reset':
        await driver.reset(signal);
        break;
    }
    log?.info({ device: driver.device, step: decision.step }, 'modem recovery step done');
  } catch (err) {
    log?.warn({ device: driver.device, step: decision.step, err: err instanceof Error ? err.message : String(err) }, 'modem recovery step failed');
    throw err;
  }
}
