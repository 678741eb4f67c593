// Asks the network for the prepaid balance, by USSD (reply parsed here) or by SMS to a short code (reply via the inbox).
import type { Logger } from '../../shared/log.js';
import type { ModemDriver } from '../drivers/modem/modem.driver.js';
import { parseBalance, type Balance } from './balance.parse.js';

export interface BalanceReading extends Balance {
  /** The carrier's words, for status and HQ. */
  text: string;
  method: 'ussd' | 'sms';
  at: number;
}

export class BalanceError extends Error {
  constructor(message: string, readonly text?: string) {
    super(message);
    this.name = 'BalanceError';
  }
}

/** USSD: sends the code, waits for the network's reply (until `signal` aborts) and parses it. */
export async function checkBalanceUssd(driver: Pick<ModemDriver, 'ussd'>, code: string, signal: AbortSignal, now: () => number, log?: Logger): Promise<BalanceReading> {
  const reply = await driver.ussd(code, signal);
  if (reply.status !== 0 && reply.status !== 1) throw new BalanceError(`USSD ${code} refused (status ${reply.status})`);
  const text = reply.text ?? '';
  const b = balanceFromText(text, 'ussd', now());
  log?.info({ method: 'ussd', amount: b.amount, currency: b.currency }, 'balance');
  return b;
}

/** SMS: texts the request to the short code; the reply comes back through the inbox (see balanceFromText). */
export async function requestBalanceSms(driver: Pick<ModemDriver, 'smsSend'>, shortCode: string, text: string, signal: AbortSignal, log?: Logger): Promise<void> {
  await driver.smsSend(shortCode, text, signal);
  log?.info({ method: 'sms', to: shortCode }, 'balance requested');
}

/** A reading from a reply text, or a BalanceError quoting what could not be read. */
export function balanceFromText(text: string, method: 'ussd' | 'sms', at: number): BalanceReading {
  const b = parseBalance(text);
  if (!b) throw new BalanceError(`no balance in the reply: "${text.slice(0, 80)}"`, text);
  return { ...b, text, method, at };
}
