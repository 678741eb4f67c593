// The modem's out-of-band jobs, one pass at a time: SMS commands from the inbox, SMS alerts, the prepaid balance.
// State between passes is plain data kept here; the modem machine decides when a pass runs.
import { readSecretFile } from '../shared/secret-file.js';
import { InputError } from '../shared/errors.js';
import { DEFAULT_OTP_POLICY, MIN_SECRET_CHARS } from './sms/otp.js';
import type { ModemConfig } from '../shared/config/modem.js';
import type { Logger } from '../shared/log.js';
import { balanceDue, balanceFinished, balanceStarted, initialBalanceCheck, type BalanceCheckState } from './balance/balance.schedule.js';
import { balanceFromText, checkBalanceUssd, requestBalanceSms, type BalanceReading } from './balance/balance.check.js';
import type { ModemDriver } from './drivers/modem/modem.driver.js';
import { decideAlerts, initialAlertState, type AlertFacts, type AlertState } from './sms/sms.alerts.js';
import type { SmsCommandHandlers } from './sms/sms.handlers.js';
import { initialInboxState, processInbox, sendAlerts, type InboxState } from './sms/sms.inbox.js';
import type { SmsGuardStore } from './sms/guard.store.js';

export interface ModemServicesDeps {
  vehicle: string;
  modem: ModemConfig;
  log: Logger;
  now: () => number;
  handlers: SmsCommandHandlers;
  /** The facts alerts are decided on, read at each pass. */
  facts: () => AlertFacts;
  /** Where spent codes, the lockout and the command window are kept across restarts (none: in memory only). */
  guard?: SmsGuardStore;
}

export interface ModemServices {
  pass(driver: ModemDriver, signal: AbortSignal): Promise<void>;
  balance(): BalanceReading | null;
  /** Ask for a balance check at the next pass. */
  requestBalance(): void;
  /** New SMS and balance settings (a config reload), in effect from the next pass; the guard and alert state stay. */
  reconfigure(modem: ModemConfig): void;
}

/**
 * The SMS secret, checked like the private key (readSecretFile) and at least MIN_SECRET_CHARS long; read at each pass,
 * so a new one takes effect.
 */
export async function readSmsSecret(path: string | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  const secret = await readSecretFile(path, 'modem.sms.secret_file');
  if (secret.length < MIN_SECRET_CHARS) throw new InputError(`${path} must hold a secret of at least ${MIN_SECRET_CHARS} characters`, 'modem.sms.secret_file');
  return secret;
}

export function createModemServices(deps: ModemServicesDeps): ModemServices {
  const { log } = deps;
  let modem = deps.modem;
  let inbox: InboxState = initialInboxState;
  let guardLoaded = false;
  let alerts: AlertState = initialAlertState;
  let check: BalanceCheckState = initialBalanceCheck;
  let reading: BalanceReading | null = null;

  return {
    balance: () => reading,
    requestBalance() {
      check = { ...check, requested: true };
    },
    reconfigure(m) {
      modem = m;
    },
    async pass(driver, signal) {
      const now = deps.now();
      // One pass, one set of settings (a reload during the pass takes effect at the next).
      const sms = modem.sms;
      const bal = modem.balance;
      if (sms) {
        if (!guardLoaded && deps.guard) {
          const g = deps.guard.load(deps.now(), sms.lockout_for);
          inbox = { ...inbox, otp: g.otp, commands: g.commands };
          if (g.otp.lockedUntil !== null && g.otp.lockedUntil > now) log.warn({ event: 'sms.lockout', until: new Date(g.otp.lockedUntil).toISOString() }, 'SMS commands locked out (kept across the restart)');
        }
        guardLoaded = true;
        const r = await processInbox({
          driver, handlers: deps.handlers, state: inbox, now, log,
          policy: {
            allowed: sms.command_numbers, secret: await readSmsSecret(sms.secret_file),
            otp: { ...DEFAULT_OTP_POLICY, lockoutAfter: sms.lockout_after, lockoutWindowMs: sms.lockout_for, lockoutMs: sms.lockout_for },
            maxRepliesPerHour: sms.max_replies_per_hour, maxCommandsPerHour: sms.max_commands_per_hour, balanceShortCode: bal?.method === 'sms' ? bal.short_code : undefined,
            incompleteWaitMs: 60_000,
          },
          onBalanceReply: (text) => {
            try {
              reading = balanceFromText(text, 'sms', deps.now());
              check = balanceFinished(check, true, deps.now());
              log.info({ event: 'modem.balance', amount: reading.amount, currency: reading.currency }, 'balance');
            } catch (err) {
              log.warn({ event: 'modem.balance', err: (err as Error).message }, 'balance reply not understood');
            }
          },
        }, signal);
        inbox = r.state;
        // Before anything else can fail: a spent code or a lockout must survive a crash right after this pass.
        try {
          deps.guard?.save({ otp: inbox.otp, commands: inbox.commands });
        } catch (err) {
          log.error({ event: 'sms.guard', err: (err as Error).message }, 'SMS guard not saved: a restart would forget spent codes and the lockout');
        }
        const facts = { ...deps.facts(), balance: reading ? { amount: reading.amount, currency: reading.currency } : undefined };
        const d = decideAlerts(alerts, facts, {
          vehicle: deps.vehicle, wifiLostAfterMs: sms.alerts.wifi_lost_after, tunnelDownAfterMs: sms.alerts.tunnel_down_after,
          onLteFallback: sms.alerts.on_lte_fallback, onRecovery: sms.alerts.on_recovery, minIntervalMs: sms.alerts.min_interval,
          maxPerHour: sms.alerts.max_per_hour, lowBalance: bal?.low_threshold,
        }, now);
        alerts = d.state;
        if (d.alerts.length && sms.alert_numbers.length) {
          const sent = await sendAlerts(driver, d.alerts.map((a) => a.text), sms.alert_numbers, signal, log);
          log.info({ event: 'sms.alerts', kinds: d.alerts.map((a) => a.kind), sent }, 'sms alerts');
        }
      }
      if (bal && balanceDue(check, { intervalMs: bal.schedule, retryMs: 60_000 }, now).due) {
        check = balanceStarted(check, now);
        try {
          if (bal.method === 'ussd') {
            const ac = AbortSignal.any([signal, AbortSignal.timeout(30_000)]);
            reading = await checkBalanceUssd(driver, bal.code!, ac, deps.now, log);
            check = balanceFinished(check, true, deps.now());
          } else {
            // The reply arrives later through the inbox; until then the check stays in flight.
            await requestBalanceSms(driver, bal.short_code!, bal.text, signal, log);
            check = { ...check, inFlight: false };
          }
        } catch (err) {
          check = balanceFinished(check, false, deps.now());
          log.warn({ event: 'modem.balance', err: (err as Error).message }, 'balance check failed');
        }
      }
    },
  };
}
