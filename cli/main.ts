// The `roamlink` command line: one program, a sub-command per job; bad input exits 2, failure 1.
import { Command, CommanderError } from 'commander';
import { InputError } from '../shared/errors.js';
import { registerCommands } from './commands.js';
import { markStartup } from '../shared/startup.js';

const program = new Command();
program
  .name('roamlink')
  .description('Mobile IP tunnel manager for vehicles: one WireGuard tunnel, uplinks switched make-before-break')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError(false);

await registerCommands(program);
markStartup('cli');

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage mistakes are bad input.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof InputError) {
    console.error(`roamlink: ${err.message}`);
    process.exit(2);
  }
  console.error(`roamlink: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.ROAMLINK_DEBUG && err instanceof Error) console.error(err.stack);
  process.exit(1);
}
