// The recovery ladder: decisions as a table over time, and the executor's commands against a recording driver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_RECOVERY, executeRecoveryStep, initialLadder, nextRecovery, recordAttempt, recordSuccess, type LadderState,
} from '../../agent/drivers/modem/modem.recovery.js';
import type { ModemDriver } from '../../agent/drivers/modem/modem.driver.js';
import { createLogger } from '../../shared/log.js';

test('the ladder climbs redial, redial, radio cycle, reset, with backoff, and waits between resets', () => {
  let s: LadderState = initialLadder;
  const seen: string[] = [];
  for (let t = 0; t <= 20 * 60_000; t += 1000) {
    for (let d = nextRecovery(s, t); d.action === 'step'; d = nextRecovery(s, t)) {
      seen.push(`${t / 1000}s ${d.step}`);
      s = recordAttempt(s, d.step, t);
    }
  }
  assert.deepEqual(seen.slice(0, 9), [
    '0s redial', '5s redial', '20s radio-cycle', '50s reset',
    '50s redial', '55s redial', '70s radio-cycle', // then waits: the next reset only 10 min after the first
    '650s reset', '650s redial',
  ]);
  const d = nextRecovery({ attempts: [{ step: 'redial', at: 0 }] }, 1000);
  assert.deepEqual(d, { action: 'wait', until: 5000, reason: 'backoff after redial' });
});

test('success starts again from the bottom but keeps resets spaced', () => {
  let s = recordAttempt(recordAttempt(initialLadder, 'redial', 0), 'reset', 100);
  s = recordSuccess(recordAttempt(s, 'redial', 200));
  assert.deepEqual(s, { attempts: [], lastResetAt: 100 });
  assert.equal(nextRecovery(s, 300).action, 'step');
  const atTop: LadderState = { attempts: [{ step: 'redial', at: 0 }, { step: 'redial', at: 0 }, { step: 'radio-cycle', at: 0 }], lastResetAt: 100 };
  assert.deepEqual(nextRecovery(atTop, 60_000), { action: 'wait', until: 100 + DEFAULT_RECOVERY.minResetIntervalMs, reason: 'reset done recently; waiting before the next' });
});

test('executor: each step is the right calls, logged', async () => {
  const calls: string[] = [];
  const driver = {
    device: '/dev/ttyUSB2',
    disconnect: async () => void calls.push('disconnect'),
    connect: async (b: { apn: string }) => void calls.push(`connect ${b.apn}`),
    setRadio: async (on: boolean) => void calls.push(`radio ${on ? 'on' : 'off'}`),
    reset: async () => void calls.push('reset'),
  } as unknown as ModemDriver;
  const lines: string[] = [];
  const log = createLogger({ name: 't', destination: { write: (l: string) => void lines.push(l) } });
  const ctx = { bearer: { apn: 'internet' }, signal: new AbortController().signal, log };
  for (const step of ['redial', 'radio-cycle', 'reset'] as const) await executeRecoveryStep(driver, { action: 'step', step, attempt: 1, reason: 'test' }, ctx);
  assert.deepEqual(calls, ['disconnect', 'connect internet', 'disconnect', 'radio off', 'radio on', 'reset']);
  const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'modem recovery').map((l) => l.step);
  assert.deepEqual(logged, ['redial', 'radio-cycle', 'reset']);
});
