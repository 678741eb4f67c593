// The modem, SMS and balance sections of the agent's config (zod); durations as "60s"/"24h", errors name the field.
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { parseOrThrow } from '../errors.js';

/** "90s", "24h" or a number of ms, to ms. */
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});

/** E.164 with "+", or a national number or short code: digits only, no spaces. */
export const phoneNumber = z.string().regex(/^\+?[0-9]{3,15}$/, 'must be a phone number (digits, optional leading +, no spaces)');

export const smsAlertsSchema = z.strictObject({
  /** Alert when all Wi-Fi uplinks have been down this long. */
  wifi_lost_after: duration.default(60_000),
  /** Alert when the tunnel has been down this long. */
  tunnel_down_after: duration.default(120_000),
  /** Alert on every fall-back to LTE. */
  on_lte_fallback: z.boolean().default(true),
  /** Tell when things are back to normal after an alert. */
  on_recovery: z.boolean().default(true),
  /** The same kind of alert is not repeated sooner than this. */
  min_interval: duration.default(600_000),
  /** At most this many alert messages per hour, all kinds together. */
  max_per_hour: z.number().int().min(1).max(60).default(6),
});

export const smsSchema = z.strictObject({
  alert_numbers: z.array(phoneNumber).default([]),
  /** Numbers allowed to send commands; every command must also carry a one-time code from the shared secret. */
  command_numbers: z.array(phoneNumber).default([]),
  /** File holding the shared secret (at least 12 characters) the one-time codes come from (never in the config itself). */
  secret_file: z.string().min(1).optional(),
  /** Commands run at most this many per hour (after a good code); the rest are refused. */
  max_commands_per_hour: z.number().int().min(1).max(120).default(10),
  /** This many bad codes within lockout_for lock every command out for lockout_for. */
  lockout_after: z.number().int().min(1).max(100).default(5),
  lockout_for: duration.default(900_000),
  alerts: smsAlertsSchema.default({
    wifi_lost_after: 60_000, tunnel_down_after: 120_000, on_lte_fallback: true, on_recovery: true, min_interval: 600_000, max_per_hour: 6,
  }),
  /** Replies to commands are limited too: at most this many per hour. */
  max_replies_per_hour: z.number().int().min(1).max(120).default(20),
}).superRefine((s, ctx) => {
  if (s.command_numbers.length > 0 && !s.secret_file) {
    ctx.addIssue({ code: 'custom', path: ['secret_file'], message: 'required when command_numbers are set' });
  }
});

export const balanceSchema = z.strictObject({
  method: z.enum(['ussd', 'sms']),
  /** USSD code, e.g. "*100#" (method ussd). */
  code: z.string().regex(/^[*#][*#0-9]{0,18}#$/, 'must be a USSD code such as *100#').optional(),
  /** Short code the balance request is texted to, e.g. "1266" (method sms). */
  short_code: z.string().regex(/^[0-9]{2,15}$/, 'must be a short code (digits)').optional(),
  /** Text of the balance request (method sms). */
  text: z.string().min(1).max(160).default('SALDO'),
  /** How often the balance is checked. */
  schedule: duration.default(86_400_000),
  /** Alert when the balance is below this (in the account's currency). */
  low_threshold: z.number().nonnegative().optional(),
}).superRefine((b, ctx) => {
  if (b.method === 'ussd' && !b.code) ctx.addIssue({ code: 'custom', path: ['code'], message: 'required when method is ussd' });
  if (b.method === 'sms' && !b.short_code) ctx.addIssue({ code: 'custom', path: ['short_code'], message: 'required when method is sms' });
});

export const modemConfigSchema = z.strictObject({
  /** The modem's AT port, e.g. /dev/ttyUSB2 or a stable /dev/serial/by-id/… path. */
  device: z.string().min(1),
  /** File holding the SIM PIN; without it a PIN-locked SIM stays locked. */
  pin_file: z.string().min(1).optional(),
  /** Fewest PIN attempts that must remain before the configured PIN is tried. */
  min_pin_retries: z.number().int().min(1).max(3).default(2),
  apn: z.string().min(1).max(100).regex(/^[^"\r\n]+$/, 'may not hold quotes or line ends'),
  ip_type: z.enum(['ipv4', 'ipv6', 'ipv4v6']).default('ipv4'),
  user: z.string().max(64).regex(/^[^"\r\n]*$/, 'may not hold quotes or line ends').optional(),
  password_file: z.string().min(1).optional(),
  auth: z.enum(['none', 'pap', 'chap']).optional(),
  mode: z.strictObject({
    preference: z.enum(['auto', 'lte', 'lte-3g', '3g', '2g']).default('auto'),
    /** Packet-switched only where the modem offers it (some networks then carry no SMS). */
    ps_only: z.boolean().default(false),
  }).default({ preference: 'auto', ps_only: false }),
  sms: smsSchema.optional(),
  balance: balanceSchema.optional(),
});

export type ModemConfig = z.output<typeof modemConfigSchema>;
export type SmsConfig = z.output<typeof smsSchema>;
export type SmsAlertsConfig = z.output<typeof smsAlertsSchema>;
export type BalanceConfig = z.output<typeof balanceSchema>;

export function parseModemConfig(value: unknown, what = 'modem config'): ModemConfig {
  return parseOrThrow(modemConfigSchema, value, what);
}
