// Helpers for tests against the modem emulator: every emulator and driver is torn down when the test ends, pass or fail.
import type { TestContext } from 'node:test';
import { ModemEmulator, type EmulatorOptions } from './modem.emulator.js';
import { openAtModem, type AtModemDriver, type AtModemOptions } from '../../agent/drivers/modem/modem.at.js';
import { memoryPinGuard, type ModemEvent } from '../../agent/drivers/modem/modem.driver.js';

export async function startEmulator(t: TestContext, opts: EmulatorOptions = {}): Promise<ModemEmulator> {
  const emu = await ModemEmulator.start(opts);
  t.after(() => emu.close());
  return emu;
}

/** Opens and initialises a driver on the emulator with short timeouts and a PIN guard of its own. */
export async function openDriver(t: TestContext, emu: ModemEmulator, opts: Partial<AtModemOptions> = {}): Promise<AtModemDriver> {
  const d = await openAtModem({
    device: emu.devicePath,
    timeouts: { default: 1000, network: 1500, bearer: 1500, sms: 2000, radio: 1500 },
    lateReplyGraceMs: 500,
    pinGuard: memoryPinGuard(),
    signal: AbortSignal.timeout(5000),
    ...opts,
  });
  t.after(() => d.close());
  return d;
}

/** A signal for one call, bounded so that a hang fails the test instead of stalling it. */
export const within = (ms = 3000): AbortSignal => AbortSignal.timeout(ms);

/** Resolves with the first event that matches, or rejects after `ms`. */
export function nextEvent<T extends ModemEvent['type']>(d: AtModemDriver, type: T, ms = 2000, match: (e: Extract<ModemEvent, { type: T }>) => boolean = () => true): Promise<Extract<ModemEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${ms} ms`));
    }, ms);
    const off = d.onEvent((e) => {
      if (e.type === type && match(e as Extract<ModemEvent, { type: T }>)) {
        clearTimeout(timer);
        off();
        resolve(e as Extract<ModemEvent, { type: T }>);
      }
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms up to `ms`. */
export async function until(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
