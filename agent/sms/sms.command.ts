// SMS commands: "<secret> STATUS|SWITCH <uplink>|CALLHOME|RELOAD" from allow-listed numbers; parse and authorise, pure.
import { createHash, timingSafeEqual } from 'node:crypto';
import { numberAllowed } from './phone.js';

export type SmsCommand =
  | { verb: 'STATUS' }
  | { verb: 'SWITCH'; uplink: string }
  | { verb: 'CALLHOME' }
  | { verb: 'RELOAD' };

export type RejectReason = 'sender-not-allowed' | 'no-secret-configured' | 'bad-secret' | 'unknown-command' | 'malformed';

export type Authorization = { ok: true; command: SmsCommand } | { ok: false; reason: RejectReason; verb?: string };

export interface CommandPolicy {
  /** Numbers allowed to command this vehicle. */
  allowed: readonly string[];
  /** The shared secret; without one no command is accepted. */
  secret: string | undefined;
}

/** Compares secrets in time independent of where they differ, or of their lengths. */
export function secretEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
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
 * Whether an SMS is a command this vehicle obeys. The sender is checked first, then the secret (first word,
 * compared in constant time), then the command. The text is never echoed in the result: it holds the secret.
 */
export function authorizeSms(from: string, text: string, policy: CommandPolicy): Authorization {
  if (!numberAllowed(from, policy.allowed)) return { ok: false, reason: 'sender-not-allowed' };
  if (!policy.secret) return { ok: false, reason: 'no-secret-configured' };
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length < 2) return { ok: false, reason: words.length === 1 && secretEquals(words[0]!, policy.secret) ? 'malformed' : 'bad-secret' };
  if (!secretEquals(words[0]!, policy.secret)) return { ok: false, reason: 'bad-secret' };
  const cmd = parseCommandWords(words.slice(1));
  if ('error' in cmd) return cmd.verb ? { ok: false, reason: cmd.error, verb: cmd.verb } : { ok: false, reason: cmd.error };
  return { ok: true, command: cmd };
}

/** A loggable hint of a rejected text: its length and word count, never its words (one may be the secret). */
export function describeText(text: string): { chars: number; words: number } {
  return { chars: text.length, words: text.trim().split(/\s+/).filter(Boolean).length };
}
