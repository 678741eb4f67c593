// `roamlink hq operator add|remove|list`: the admin listener's operators, each with a token of their own (printed once,
// stored as its SHA-256 in admin_operators_file); the running concentrator re-reads the file at once.
import type { Command } from 'commander';
import { loadHqConfig, type HqConfig } from '../shared/config/hq.js';
import { InputError } from '../shared/errors.js';
import { controlRequest } from '../concentrator/client.js';
import { checkOperatorName, newToken, readOperatorsFile, readTokenFile, tokenHash, writeOperatorsFile } from '../concentrator/admin/operators.js';

const note = (s: string) => process.stderr.write(`${s}\n`);

/** Tells the running concentrator to re-read the operators; without one, says when it will. */
async function reloadNow(cfg: HqConfig): Promise<void> {
  const reply = await controlRequest(cfg.control_socket, 'POST', '/v1/operators/reload', 10_000).catch((err: Error) => err);
  if (reply instanceof Error) note(`warning: could not reach the concentrator on ${cfg.control_socket} (${reply.message}); it reads the operators on SIGHUP or at start`);
  else if (!reply) note(`no concentrator is running on ${cfg.control_socket}: it reads the operators when it starts`);
  else if (reply.status === 200) note('the running concentrator has the change');
  else note(`warning: the concentrator did not take the change (${(reply.body as { error?: { message?: string } })?.error?.message ?? `HTTP ${reply.status}`}); the old operators stay until it does`);
}

export function registerOperator(hq: Command): void {
  const op = hq.command('operator').description("the admin listener's operators: each signs in with a token of their own, and the audit names them");

  op.command('add <NAME>')
    .description('add an operator and print their new token (once: only its SHA-256 is kept)')
    .option('--token-file <file>', "adopt this token (mode 0600) instead of making one, e.g. the old admin_token_file's")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ tokenFile?: string; config: string }>();
      checkOperatorName(name);
      const cfg = await loadHqConfig(opts.config);
      const ops = await readOperatorsFile(cfg.admin_operators_file);
      if (ops.some((o) => o.name === name)) throw new InputError(`operator ${name} exists (remove it first to give a new token)`, 'NAME');
      const token = opts.tokenFile ? await readTokenFile(opts.tokenFile, '--token-file') : newToken();
      const sha256 = tokenHash(token);
      if (ops.some((o) => o.sha256 === sha256)) throw new InputError('that token is already another operator\'s', '--token-file');
      await writeOperatorsFile(cfg.admin_operators_file, [...ops, { name, sha256 }]);
      note(`operator ${name} added to ${cfg.admin_operators_file}`);
      if (!opts.tokenFile) {
        note(`${name}'s token follows, shown this once: give it to them (the dashboard asks for it; APIs take Authorization: Bearer TOKEN)`);
        process.stdout.write(`${token}\n`);
      }
      await reloadNow(cfg);
    });

  op.command('remove <NAME>')
    .description('remove an operator: their token stops working at once')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      checkOperatorName(name);
      const cfg = await loadHqConfig(cmd.optsWithGlobals<{ config: string }>().config);
      const ops = await readOperatorsFile(cfg.admin_operators_file);
      if (!ops.some((o) => o.name === name)) throw new InputError(`no operator ${name} in ${cfg.admin_operators_file}`, 'NAME');
      await writeOperatorsFile(cfg.admin_operators_file, ops.filter((o) => o.name !== name));
      note(`operator ${name} removed`);
      await reloadNow(cfg);
    });

  op.command('list')
    .description('the operators (names only: tokens are not kept)')
    .option('--json', 'one JSON object per line')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ json?: boolean; config: string }>();
      const cfg = await loadHqConfig(opts.config);
      for (const o of await readOperatorsFile(cfg.admin_operators_file)) process.stdout.write(`${opts.json ? JSON.stringify({ name: o.name }) : o.name}\n`);
      if (cfg.admin_token_file) note(`and "admin": the shared token of admin_token_file (migrate: docs/operator-guide.md, "Operators and their tokens")`);
    });
}
