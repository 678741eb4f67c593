// Logging: pino with secrets redacted by key name, so a private key, token or PIN never reaches a log line.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are never logged, wherever they sit in a log object. */
export const SECRET_KEYS = ['private_key', 'privateKey', 'token', 'admin_token', 'pin', 'sim_pin', 'secret', 'psk', 'password'];

export interface LogOptions {
  name: string;
  level?: string;
  /** Time source, so tests can control timestamps. */
  time?: () => number;
  destination?: DestinationStream;
}

export function createLogger(opts: LogOptions): Logger {
  const paths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.ROAMLINK_LOG_LEVEL ?? 'info',
      redact: { paths, censor: '[redacted]' },
      timestamp: opts.time ? () => `,"time":${opts.time!()}` : pino.stdTimeFunctions.epochTime,
      base: { pid: process.pid },
    },
    opts.destination ?? pino.destination(2),
  );
}
