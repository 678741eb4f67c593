// One-time codes of SMS commands: TOTP (RFC 6238 over RFC 4226's HOTP, HMAC-SHA1, 6 digits, 30 s), replay refused,
// lockout after repeated bad codes. Pure: the time is given, the state is plain data.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const OTP_DIGITS = 6;
export const OTP_STEP_MS = 30_000;
/** The shortest shared secret accepted (characters of the secret file, used as the HMAC key's bytes). */
export const MIN_SECRET_CHARS = 12;

/** RFC 4226: the HOTP value of `counter` under `key`, `digits` long (zero-padded). */
export function hotp(key: Buffer, counter: number, digits = OTP_DIGITS): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const off = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[off]! & 0x7f) << 24) | (mac[off + 1]! << 16) | (mac[off + 2]! << 8) | mac[off + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** RFC 6238: the time step of a moment (Unix time / 30 s). */
export const stepOf = (wallMs: number, stepMs = OTP_STEP_MS): number => Math.floor(wallMs / stepMs);

/** The TOTP code at a moment (what `oathtool --totp` or `roamlink sms code` prints then). */
export function totp(key: Buffer, wallMs: number, stepMs = OTP_STEP_MS): string {
  return hotp(key, stepOf(wallMs, stepMs));
}

/** The key of a secret as written in the secret file (its UTF-8 bytes; `oathtool` takes them as hex). */
export function otpKey(secret: string): Buffer {
  return Buffer.from(secret, 'utf8');
}

export interface OtpPolicy {
  /** Steps accepted before the current one (an SMS may be delayed) and after it (the sender's clock ahead). */
  pastSteps: number;
  futureSteps: number;
  /** This many bad codes within `lockoutWindowMs` lock every command out for `lockoutMs`. */
  lockoutAfter: number;
  lockoutWindowMs: number;
  lockoutMs: number;
}

export const DEFAULT_OTP_POLICY: OtpPolicy = { pastSteps: 4, futureSteps: 1, lockoutAfter: 5, lockoutWindowMs: 900_000, lockoutMs: 900_000 };

export interface OtpState {
  /** The step of the last code accepted: that code and every earlier one are spent. */
  lastStep: number | null;
  /** When the recent bad codes came (inside the lockout window). */
  failures: number[];
  /** Commands are refused until then (wall ms), or null. */
  lockedUntil: number | null;
}

export const initialOtpState: OtpState = { lastStep: null, failures: [], lockedUntil: null };

export type OtpVerdict =
  | { ok: true; step: number; state: OtpState }
  | { ok: false; reason: 'bad-code' | 'replayed' | 'locked-out'; state: OtpState };

const codeEquals = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Checks a code at `wallMs`. Locked out: refused without looking at the code. A code of a step already spent (the
 * same code again, or an older one): replayed. A code of no step in the window: a bad code, counted; the
 * `lockoutAfter`-th within the window locks out. A good code spends its step and every earlier one.
 */
export function checkCode(state: OtpState, key: Buffer, code: string, wallMs: number, p: OtpPolicy = DEFAULT_OTP_POLICY): OtpVerdict {
  if (state.lockedUntil !== null && wallMs < state.lockedUntil) return { ok: false, reason: 'locked-out', state };
  const unlocked: OtpState = state.lockedUntil !== null ? { ...state, lockedUntil: null, failures: [] } : state;
  const now = stepOf(wallMs);
  let matched: number | null = null;
  if (/^\d{6}$/.test(code)) {
    for (let s = now - p.pastSteps; s <= now + p.futureSteps; s++) {
      if (codeEquals(hotp(key, s), code)) {
        matched = s;
        break;
      }
    }
  }
  if (matched !== null && unlocked.lastStep !== null && matched <= unlocked.lastStep) return { ok: false, reason: 'replayed', state: unlocked };
  if (matched === null) {
    const failures = [...unlocked.failures.filter((t) => t > wallMs - p.lockoutWindowMs), wallMs];
    const locked = failures.length >= p.lockoutAfter;
    return { ok: false, reason: 'bad-code', state: { ...unlocked, failures: locked ? [] : failures, lockedUntil: locked ? wallMs + p.lockoutMs : null } };
  }
  return { ok: true, step: matched, state: { lastStep: matched, failures: [], lockedUntil: null } };
}
