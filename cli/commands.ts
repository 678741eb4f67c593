// Where each sub-command module is attached to the program: a table of which top-level commands each module defines,
// so a run loads only the module its command needs (`roamlink hq` answers its agents sooner: bench/hq-restart).
import type { Command } from 'commander';

type Register = (program: Command) => void;

/** Each module, the top-level commands it registers (test/unit/cli-commands.test.ts checks the names), and its loader. */
export const COMMAND_MODULES: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Register> }> = [
  { names: ['agent', 'switch', 'status'], load: async () => (await import('./agent.js')).registerAgent },
  { names: ['lab', 'demo'], load: async () => (await import('./lab.js')).registerLab },
  { names: ['modem'], load: async () => (await import('./modem.js')).registerModem },
  { names: ['hq'], load: async () => (await import('./hq.js')).registerHq },
  { names: ['vehicle'], load: async () => (await import('./vehicle.js')).registerVehicle },
  { names: ['log'], load: async () => (await import('./log.js')).registerLog },
  { names: ['site'], load: async () => (await import('./site.js')).registerSite },
  { names: ['replay'], load: async () => (await import('./replay.js')).registerReplay },
  { names: ['drive'], load: async () => (await import('./drive.js')).registerDrive },
  { names: ['sms'], load: async () => (await import('./sms.js')).registerSms },
  { names: ['enroll'], load: async () => (await import('./enroll.js')).registerEnroll },
];

/**
 * Registers the module that defines `argv`'s command (the first argument that is not an option), or every module when
 * there is none or it is unknown (help, a usage error listing them all).
 */
export async function registerCommands(program: Command, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const first = argv.find((a) => !a.startsWith('-'));
  const one = COMMAND_MODULES.find((m) => first !== undefined && m.names.includes(first));
  for (const m of one ? [one] : COMMAND_MODULES) (await m.load())(program);
}
