// `roamlink modem status`: what the modem says about itself (model, SIM, registration, operator, signal), bounded in time.
import { readSecretFile } from '../shared/secret-file.js';
import type { Command } from 'commander';
import { InputError } from '../shared/errors.js';
import { agentRequest } from './agent.js';
import { parseDuration } from '../shared/duration.js';
import { createLogger } from '../shared/log.js';
import { AtError } from '../agent/drivers/modem/at.engine.js';
import { DeviceError } from '../agent/drivers/modem/at.port.js';
import { openAtModem, type AtModemDriver } from '../agent/drivers/modem/modem.at.js';
import { formatModemStatus, modemStatusJson, readModemStatus } from '../agent/drivers/modem/modem.status.js';

/** Reads a PIN file: one line of 4 to 8 digits, readable by its owner only (see readSecretFile). */
export async function readPinFile(path: string): Promise<string> {
  const pin = await readSecretFile(path, '--pin-file');
  if (!/^\d{4,8}$/.test(pin)) throw new InputError(`${path} must hold a PIN of 4 to 8 digits`, '--pin-file');
  return pin;
}

function number(v: string, field: string): number {
  try {
    return parseDuration(/^\d+$/.test(v) ? Number(v) : v);
  } catch {
    throw new InputError(`not a duration: "${v}"`, field);
  }
}

interface StatusOpts {
  device: string;
  socket: string;
  json?: boolean;
  pinFile?: string;
  timeout: string;
  atTimeout: string;
}

async function status(opts: StatusOpts): Promise<void> {
  const total = number(opts.timeout, '--timeout');
  const perCommand = number(opts.atTimeout, '--at-timeout');
  const pin = opts.pinFile ? await readPinFile(opts.pinFile) : undefined;
  const log = createLogger({ name: 'modem', level: process.env.ROAMLINK_LOG_LEVEL ?? 'warn' });
  const signal = AbortSignal.timeout(total);
  let driver: AtModemDriver | undefined;
  try {
    driver = await openAtModem({
      device: opts.device,
      signal,
      log,
      timeouts: { default: perCommand, network: perCommand * 2, bearer: perCommand * 2, radio: perCommand * 2, sms: perCommand * 4 },
      lateReplyGraceMs: Math.min(1000, perCommand),
    });
    const st = await readModemStatus(driver, signal, { pin });
    process.stdout.write(opts.json ? `${JSON.stringify(modemStatusJson(st))}\n` : `${formatModemStatus(st)}\n`);
  } catch (err) {
    // A running agent holds the port (serial ports are exclusive): ask the agent what its modem says instead.
    if (err instanceof DeviceError && /lock|busy/i.test(err.message)) {
      const fromAgent = await agentRequest(opts.socket, 'GET', '/v1/modem', undefined, 5000).catch(() => null);
      if (fromAgent?.status === 200) {
        const m = fromAgent.body as Record<string, unknown>;
        if (opts.json) process.stdout.write(`${JSON.stringify({ source: 'agent', ...m })}\n`);
        else process.stdout.write(`${opts.device} is held by the running agent; its modem status:\n${Object.entries(m).map(([k, v]) => `  ${k.padEnd(13)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n')}\n`);
        return;
      }
    }
    if (err instanceof DeviceError) throw new Error(err.message);
    if (err instanceof AtError) {
      if (err.kind === 'aborted') throw new Error(`${opts.device}: no complete status within ${opts.timeout}`);
      if (err.kind === 'closed') throw new Error(`${opts.device}: the device went away`);
      if (err.kind === 'timeout') throw new Error(`${opts.device}: the modem stopped answering (${err.command})`);
    }
    throw err;
  } finally {
    await driver?.close();
  }
}

export function registerModem(program: Command): void {
  const modem = program.command('modem').description('the 3G/LTE modem');
  modem
    .command('status')
    .description('what the modem says: model, SIM state, registration, operator, signal')
    .requiredOption('--device <path>', "the modem's AT port, e.g. /dev/ttyUSB2")
    .option('--json', 'one JSON object')
    .option('--socket <path>', "the agent's control socket, asked when the agent holds the port", '/run/roamlink/agent.sock')
    .option('--pin-file <file>', 'enter the PIN from this file if, and only if, the SIM asks for it')
    .option('--timeout <duration>', 'give up after this long in all', '20s')
    .option('--at-timeout <duration>', 'time allowed for each AT command', '2s')
    .action((opts: StatusOpts) => status(opts));
}
