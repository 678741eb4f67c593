// Where each sub-command module is attached to the program (one line per module).
import type { Command } from 'commander';

export function registerCommands(program: Command): void {
  void program;
}
