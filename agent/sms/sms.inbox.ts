// One pass over the modem's SMS inbox: commands run and answered, balance replies passed on, the rest ignored and logged.
import type { Logger } from '../../shared/log.js';
import type { ModemDriver, SmsMessage } from '../drivers/modem/modem.driver.js';
import { normalizeNumber } from './phone.js';
import { emptyWindow, takeRate, type RateWindow } from './rate.js';
import { authorizeSms, describeText, type CommandPolicy, type RejectReason } from './sms.command.js';
import { initialOtpState, type OtpState } from './otp.js';
import { runSmsCommand, type SmsCommandHandlers } from './sms.handlers.js';

export interface InboxPolicy extends CommandPolicy {
  maxRepliesPerHour: number;
  /** Commands run (after a good code) at most this many per hour; the rest are refused as rate-limited. */
  maxCommandsPerHour: number;
  /** Messages from this number are balance replies (balance by SMS). */
  balanceShortCode?: string;
  /** How long the first part of a multi-part message waits for the rest before it is dropped. */
  incompleteWaitMs: number;
}

/** Remembered between passes (plain data). */
export interface InboxState {
  /** When each incomplete message (by its part ids) was first seen. */
  firstSeen: Record<string, number>;
  replies: RateWindow;
  commands: RateWindow;
  /** Spent codes and the bad-code lockout. */
  otp: OtpState;
}

export const initialInboxState: InboxState = { firstSeen: {}, replies: emptyWindow, commands: emptyWindow, otp: initialOtpState };

export type Handled =
  | { from: string; outcome: 'command'; verb: string; ok: boolean; replied: boolean }
  | { from: string; outcome: 'rejected'; reason: RejectReason }
  | { from: string; outcome: 'balance' }
  | { from: string; outcome: 'waiting-parts' }
  | { from: string; outcome: 'incomplete-dropped' };

export interface InboxContext {
  driver: Pick<ModemDriver, 'smsList' | 'smsDelete' | 'smsSend'>;
  handlers: SmsCommandHandlers;
  policy: InboxPolicy;
  state: InboxState;
  now: number;
  log?: Logger;
  onBalanceReply?: (text: string, from: string) => void;
}

/**
 * Lists the inbox and deals with every whole message: each is deleted before it is acted on, so a command runs
 * at most once. Incomplete multi-part messages wait up to `incompleteWaitMs`. Call on +CMTI and now and then.
 */
export async function processInbox(ctx: InboxContext, signal: AbortSignal): Promise<{ state: InboxState; handled: Handled[] }> {
  const { driver, policy, log, now } = ctx;
  const state: InboxState = { firstSeen: {}, replies: ctx.state.replies, commands: ctx.state.commands, otp: ctx.state.otp };
  const handled: Handled[] = [];
  const messages: SmsMessage[] = await driver.smsList(signal);
  for (const m of messages) {
    const from = m.from;
    if (!m.complete) {
      const key = m.ids.join(',');
      const first = ctx.state.firstSeen[key] ?? now;
      if (now - first < policy.incompleteWaitMs) {
        state.firstSeen[key] = first;
        handled.push({ from, outcome: 'waiting-parts' });
        continue;
      }
      await driver.smsDelete(m.ids, signal);
      log?.warn({ from, parts: m.parts, ids: m.ids }, 'sms ignored: parts missing');
      handled.push({ from, outcome: 'incomplete-dropped' });
      continue;
    }
    await driver.smsDelete(m.ids, signal);
    if (policy.balanceShortCode && normalizeNumber(from) === normalizeNumber(policy.balanceShortCode)) {
      log?.info({ from, chars: m.text.length }, 'sms balance reply');
      ctx.onBalanceReply?.(m.text, from);
      handled.push({ from, outcome: 'balance' });
      continue;
    }
    const a = authorizeSms(from, m.text, policy, state.otp, now);
    const wasLocked = state.otp.lockedUntil !== null && now < state.otp.lockedUntil;
    state.otp = a.otp;
    let auth = a.auth;
    if (auth.ok) {
      const rate = takeRate(state.commands, now, policy.maxCommandsPerHour, 3_600_000);
      state.commands = rate.window;
      if (!rate.ok) auth = { ok: false, reason: 'rate-limited', verb: auth.command.verb };
    }
    if (!auth.ok) {
      log?.warn({ from, reason: auth.reason, verb: auth.verb, ...describeText(m.text) }, 'sms ignored');
      if (!wasLocked && state.otp.lockedUntil !== null) log?.warn({ event: 'sms.lockout', until: new Date(state.otp.lockedUntil).toISOString() }, 'sms commands locked out: too many bad codes');
      handled.push({ from, outcome: 'rejected', reason: auth.reason });
      continue;
    }
    const verb = auth.command.verb;
    log?.info({ from, verb }, 'sms command');
    const r = await runSmsCommand(auth.command, ctx.handlers);
    const rate = takeRate(state.replies, now, policy.maxRepliesPerHour, 3_600_000);
    state.replies = rate.window;
    let replied = false;
    if (!rate.ok) log?.warn({ from, verb }, 'sms reply dropped: reply rate limit');
    else {
      try {
        await driver.smsSend(from, r.reply, signal);
        replied = true;
      } catch (err) {
        log?.warn({ from, verb, err: err instanceof Error ? err.message : String(err) }, 'sms reply failed');
      }
    }
    log?.info({ from, verb, ok: r.ok, replied }, 'sms command done');
    handled.push({ from, outcome: 'command', verb, ok: r.ok, replied });
  }
  return { state, handled };
}

/** Sends alert texts to every alert number; a failure to one number does not stop the others. */
export async function sendAlerts(
  driver: Pick<ModemDriver, 'smsSend'>,
  texts: readonly string[],
  numbers: readonly string[],
  signal: AbortSignal,
  log?: Logger,
): Promise<number> {
  let sent = 0;
  for (const text of texts) {
    for (const to of numbers) {
      try {
        await driver.smsSend(to, text, signal);
        sent++;
      } catch (err) {
        log?.warn({ to, err: err instanceof Error ? err.message : String(err) }, 'sms alert failed');
      }
    }
  }
  return sent;
}
