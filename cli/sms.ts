// `roamlink sms code`: the one-time code an SMS command must start with now (the TOTP of the vehicle's SMS secret).
import type { Command } from 'commander';
import { InputError } from '../shared/errors.js';
import { readSmsSecret } from '../agent/modem.services.js';
import { OTP_STEP_MS, otpKey, stepOf, totp } from '../agent/sms/otp.js';

export function registerSms(program: Command): void {
  const sms = program.command('sms').description('SMS commands to a vehicle');
  sms
    .command('code')
    .description('print the one-time code for an SMS command now, e.g. "123456 STATUS" (TOTP, RFC 6238, as oathtool --totp)')
    .requiredOption('--secret-file <file>', "the vehicle's SMS secret (its modem.sms.secret_file; mode 0600)")
    .option('--at <time>', 'the code at this time instead (ISO 8601), e.g. to check a clock')
    .option('--json', 'one JSON object: code, valid_from, valid_until')
    .action(async (o: { secretFile: string; at?: string; json?: boolean }) => {
      const secret = await readSmsSecret(o.secretFile).catch((err: unknown) => {
        if (err instanceof InputError) throw new InputError(err.message.replace(/^modem\.sms\.secret_file: /, ''), '--secret-file');
        throw err;
      });
      const at = o.at === undefined ? Date.now() : Date.parse(o.at);
      if (!Number.isFinite(at)) throw new InputError(`not a time: "${o.at}" (use ISO 8601, e.g. 2026-12-03T08:00:00Z)`, '--at');
      const code = totp(otpKey(secret!), at);
      const from = stepOf(at) * OTP_STEP_MS;
      if (o.json) console.log(JSON.stringify({ code, valid_from: new Date(from).toISOString(), valid_until: new Date(from + OTP_STEP_MS).toISOString() }));
      else console.log(code);
    });
}
