// The CLI's command table: each module registers exactly the top-level commands listed for it, and a run loads only its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { COMMAND_MODULES, registerCommands } from '../../cli/commands.js';

const names = (p: Command) => p.commands.map((c) => c.name()).sort();

test('each module registers the top-level commands the table lists for it, and no two list the same', async () => {
  const all: string[] = [];
  for (const m of COMMAND_MODULES) {
    const p = new Command();
    (await m.load())(p);
    assert.deepEqual(names(p), [...m.names].sort());
    all.push(...m.names);
  }
  assert.equal(new Set(all).size, all.length);
});

test('a command loads its module alone; no command, an option first or an unknown one loads every module', async () => {
  const every = COMMAND_MODULES.flatMap((m) => m.names).sort();
  for (const { argv, want } of [
    { argv: ['hq', '--config', '/etc/roamlink/hq.yaml'], want: ['hq'] },
    { argv: ['switch', 'wlan1'], want: ['agent', 'status', 'switch'] },
    { argv: ['demo'], want: ['demo', 'lab'] },
    { argv: [], want: every },
    { argv: ['--help'], want: every },
    { argv: ['nosuch'], want: every },
  ]) {
    const p = new Command();
    await registerCommands(p, argv);
    assert.deepEqual(names(p), want, argv.join(' '));
  }
});
