// SMS commands: "<code> STATUS|SWITCH <uplink>|CALLHOME|RELOAD" from allow-listed numbers, the code a one-time TOTP; pure.
import { numberAllowed } from './phone.js';
import { checkCode, DEFAULT_OTP_POLICY, otpKey, type OtpPolicy, type OtpState } from './otp.js';

export type SmsCommand =
  | { verb: 'STATUS' }
  | { verb: 'SWITCH'; uplink: string }
  | { verb: 'CALLHOME' }
  | { verb: 'RELOAD' };

export type RejectReason =
  | 'sender-not-allowed' | 'no-secret-configured' | 'bad-code' | 'replayed' | 'locked-out' | 'rate-limited' | 'unknown-command' | 'malformed';

export type Authorization = { ok: true; command: SmsCommand } | { ok: false; reason: RejectReason; verb?: string };

export interface CommandPolicy {
  /** Numbers allowed to command this vehicle. */
  allowed: readonly string[];
  /** The shared secret the one-time codes come from; without one no command is accepted. */
  secret: string | undefined;
  /** Code window and lockout (default DEFAULT_OTP_POLICY). */
  otp?: OtpPolicy;
}

const UPLINK = /^[a-zA-Z0-9_=+.-]{1,15}$/;

/** The command words after the secret, or why they are not a command. */
export function parseCommandWords(words: readonly string[]): SmsCommand | { error: 'unknown-command' | 'malformed'; verb?: string } {
  const verb = (words[0] ?? '').toUpperCase();
  const args = words.slice(1);
  switch (verb) {
    case 'STATUS':
    case 'CALLHOME':
    case 'RELOAD':
      return args.length === 0 ? ({ verb } as SmsCommand) : { error: 'malformed', verb };
    case 'SWITCH':
      return args.length === 1 && UPLINK.test(args[0]!) ? { verb, uplink: args[0]! } : { error: 'malformed', verb };
    default:
      return { error: 'unknown-command' };
  }
}

/**
 * Whether an SMS is a command this vehicle obeys, at wall time `wallMs`. The sender is checked first, then the
 * command words (no secret involved), then the one-time code (the first word; see checkCode: replay refused, bad
 * codes counted towards a lockout). Returns the OTP state to keep. The text is never echoed in the result.
 */
export function authorizeSms(from: string, text: string, policy: CommandPolicy, otp: OtpState, wallMs: number): { auth: Authorization; otp: OtpState } {
  const no = (reason: RejectReason, verb?: string) => ({ auth: verb ? { ok: false as const, reason, verb } : { ok: false as const, reason }, otp });
  if (!numberAllowed(from, policy.allowed)) return no('sender-not-allowed');
  if (!policy.secret) return no('no-secret-configured');
  const words = text.trim().split(/\s+/).filter(Boolean);
  // No code at all (the old clear secret, chatter): refused as a bad code, not counted towards the lockout.
  if (!/^\d{6}$/.test(words[0] ?? '')) return no('bad-code');
  if (words.length < 2) return no('malformed');
  const cmd = parseCommandWords(words.slice(1));
  if ('error' in cmd) return no(cmd.error, cmd.verb);
  const v = checkCode(otp, otpKey(policy.secret), words[0]!, wallMs, policy.otp ?? DEFAULT_OTP_POLICY);
  if (!v.ok) return { auth: { ok: false, reason: v.reason }, otp: v.state };
  return { auth: { ok: true, command: cmd }, otp: v.state };
}

/** A loggable hint of a rejected text: its length and word count, never its words (one may be the secret). */
export function describeText(text: string): { chars: number; words: number } {
  return { chars: text.length, words: text.trim().split(/\s+/).filter(Boolean).length };
}
