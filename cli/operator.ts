// `roamlink hq operator add|remove|list`: the admin listener's operators, each with a token of their own (printed once,
// stored as its SHA-256 in the registry, which both concentrators of a pair share); the running concentrator here takes
// the change at once, the other within 5 s.
import type { Command } from 'commander';
import { loadHqConfig, type HqConfig } from '../shared/config/hq.js';
import { controlRequest } from '../shared/control.js';
import { checkOperatorName, newToken, readTokenFile, tokenHash } from '../concentrator/admin/operators.js';
import type { OperatorStore } from '../concentrator/store/operators/service.js';

const note = (s: string) => process.stderr.write(`${s}\n`);

/** Tells the running concentrator to re-read the operators; without one, says when it will. */
async function reloadNow(cfg: HqConfig): Promise<void> {
  const reply = await controlRequest(cfg.control_socket, 'POST', '/v1/operators/reload', { timeoutMs: 10_000 }).catch((err: Error) => err);
  if (reply instanceof Error) note(`warning: could not reach the concentrator on ${cfg.control_socket} (${reply.message}); it reads the operators on SIGHUP, every 5 s, or at start`);
  else if (!reply) note(`no concentrator is running on ${cfg.control_socket}: it reads the operators when it starts`);
  else if (reply.status === 200) note('the running concentrator has the change');
  else note(`warning: the concentrator did not take the change (${(reply.body as { error?: { message?: string } })?.error?.message ?? `HTTP ${reply.status}`}); the old operators stay until it does`);
  if (cfg.database) note('the other concentrator on this database takes it within 5 s');
}

/** The registry's operators (an old admin_operators_file adopted first, as the daemon does), for one command. */
async function withOperators<T>(cfg: HqConfig, fn: (store: OperatorStore) => Promise<T>): Promise<T> {
  const { openVehicles } = await import('../concentrator/store/vehicles/open.js');
  const { adoptOperatorsFile, adoptedPath } = await import('../concentrator/store/operators/service.js');
  const { operators, close } = await openVehicles(cfg);
  try {
    const a = await adoptOperatorsFile(operators, cfg.admin_operators_file);
    if (a) note(`${cfg.admin_operators_file} moved into the store (${a.adopted.length} adopted, ${a.kept.length} known there already); kept as ${adoptedPath(cfg.admin_operators_file)}`);
    return await fn(operators);
  } finally {
    await close();
  }
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
      const token = opts.tokenFile ? await readTokenFile(opts.tokenFile, '--token-file') : newToken();
      await withOperators(cfg, (store) => store.add({ name, sha256: tokenHash(token) }));
      note(`operator ${name} added to the store (${cfg.database ? 'PostgreSQL: both concentrators' : 'the registry'})`);
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
      await withOperators(cfg, (store) => store.remove(name));
      note(`operator ${name} removed`);
      await reloadNow(cfg);
    });

  op.command('list')
    .description('the operators (names only: tokens are not kept)')
    .option('--json', 'one JSON object per line')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ json?: boolean; config: string }>();
      const cfg = await loadHqConfig(opts.config);
      for (const o of await withOperators(cfg, (store) => store.active())) process.stdout.write(`${opts.json ? JSON.stringify({ name: o.name }) : o.name}\n`);
      if (cfg.admin_token_file) note(`and "admin": the shared token of admin_token_file (migrate: docs/operator-guide.md, "Operators and their tokens")`);
    });
}
