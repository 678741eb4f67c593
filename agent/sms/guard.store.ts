// The SMS commands' guard on the agent's disk (state_dir/sms-guard.json): spent one-time codes, the bad-code lockout
// and the commands-per-hour window, so that restarting the agent neither lifts a lockout nor lets a spent code replay.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { initialOtpState, type OtpState } from './otp.js';
import { emptyWindow, type RateWindow } from './rate.js';

export interface SmsGuard {
  otp: OtpState;
  commands: RateWindow;
}

export const initialSmsGuard: SmsGuard = { otp: initialOtpState, commands: emptyWindow };

const ms = z.number().int().min(0);
const fileSchema = z.strictObject({
  version: z.literal(1),
  otp: z.strictObject({ lastStep: z.number().int().nullable(), failures: z.array(ms).max(1000), lockedUntil: ms.nullable() }),
  commands: z.strictObject({ times: z.array(ms).max(10_000) }),
});

export function smsGuardPath(stateDir: string): string {
  return join(stateDir, 'sms-guard.json');
}

export interface SmsGuardStore {
  /** What was saved; a missing file is a fresh guard. A file that cannot be read or does not validate is warned about
   *  and taken as a lockout until `now + lockoutMs` (an unreadable guard must not open the door). Never throws. */
  load(now: number, lockoutMs: number): SmsGuard;
  /** Writes the guard when it differs from what is on disk (atomically: temp file, fsync, rename). */
  save(guard: SmsGuard): void;
}

export function fileSmsGuardStore(path: string, warn: (msg: string) => void = () => {}): SmsGuardStore {
  let onDisk = '';
  return {
    load(now, lockoutMs) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return initialSmsGuard;
        warn(`${path}: cannot read (${(err as NodeJS.ErrnoException).code}): SMS commands locked out for now`);
        return { otp: { ...initialOtpState, lockedUntil: now + lockoutMs }, commands: emptyWindow };
      }
      const r = (() => {
        try {
          return fileSchema.safeParse(JSON.parse(text));
        } catch {
          return null;
        }
      })();
      if (!r?.success) {
        warn(`${path}: not a valid SMS guard file: SMS commands locked out for now`);
        return { otp: { ...initialOtpState, lockedUntil: now + lockoutMs }, commands: emptyWindow };
      }
      onDisk = text;
      return { otp: r.data.otp, commands: r.data.commands };
    },
    save(guard) {
      const text = `${JSON.stringify({ version: 1, otp: guard.otp, commands: guard.commands })}\n`;
      if (text === onDisk) return;
      writeFileAtomic(path, text);
      onDisk = text;
    },
  };
}
