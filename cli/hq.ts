// `roamlink hq`: the concentrator daemon (with --check, only validates its config) and `roamlink hq pubkey`.
import type { Command } from 'commander';
import { startSdNotify } from '../shared/sdnotify.js';
import { DEFAULT_HQ_CONFIG, loadHqConfig, readPrivateKeyFile } from '../shared/config/hq.js';
import { createLogger } from '../shared/log.js';
import { existsSync, rmSync } from 'node:fs';
import { markStartup } from '../shared/startup.js';
import { registerOperator } from './operator.js';
import { registerIdentity } from './identity.js';

/** The signal that stops the concentrator for good (the unit's KillSignal); SIGTERM (its RestartKillSignal) restarts. */
export const STOP_SIGNAL = 'SIGUSR2' as const;

export function registerHq(program: Command): void {
  const hq = program
    .command('hq')
    .description('run the concentrator: WireGuard interface, peers and routes from the registry, admin API on the control socket')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .option('--check', 'only validate the config (exit 0, or 2 naming the bad field)')
    .action(async (opts: { config: string; check?: boolean }) => {
      const cfg = await loadHqConfig(opts.config);
      markStartup('config');
      if (opts.check) {
        process.stdout.write(`${opts.config}: ok (interface ${cfg.interface}, tunnel ${cfg.tunnel_network}, HQ ${cfg.tunnel_address})\n`);
        return;
      }
      const log = createLogger({ name: 'hq', level: cfg.log_level });
      // Loaded here, not at the top: the agent's process runs the same CLI and has no use for the concentrator.
      const { startHq } = await import('../concentrator/daemon.js');
      markStartup('modules');
      // A stop signal during the start (the socket answers before the last pass and the handlers below) is kept and
      // acted on once started, not left to Node's default action (killed, its stop for good undone).
      // One listener per signal for the whole run, its action swapped: removing a signal's last listener closes
      // libuv's handle, and a signal already caught for that handle but not yet dispatched is then dropped (a CI run
      // lost a SIGUSR2 that way: the daemon ran on, its stop for good never done).
      const STOPS = ['SIGTERM', 'SIGINT', STOP_SIGNAL] as const;
      let pending: NodeJS.Signals | null = null;
      let onStop: (signal: NodeJS.Signals) => void = (signal) => void (pending ??= signal);
      const listener = (signal: NodeJS.Signals) => onStop(signal);
      for (const s of STOPS) process.on(s, listener);
      const handle = await startHq(cfg, { log });
      const sd = startSdNotify({ status: `concentrator ready on ${cfg.interface}`, onError: (err) => log.warn({ err: err.message }, 'sd_notify') });
      const { createHqReloader } = await import('../concentrator/hq.reload.js');
      const reloader = createHqReloader({ initial: cfg, load: () => loadHqConfig(opts.config), log });
      await new Promise<void>((resolve) => {
        // SIGHUP (`systemctl reload`): the config file again (what changed and may change live, or a refusal naming
        // the field: the running config stays), the admin operators, and a reconcile with the registry.
        const hup = () => {
          log.info('SIGHUP: re-reading the config and the admin operators, reconciling');
          void reloader.reload('SIGHUP');
          void handle.reconcile();
          handle.reloadOperators().catch((err: Error) => log.error({ err: err.message }, 'admin operators not reloaded (the old table stays)'));
        };
        // SIGTERM and SIGINT (a restart, an upgrade) leave the data plane for the next start to adopt; STOP_SIGNAL
        // (the unit's KillSignal: `systemctl stop`) takes it away. See docs/operator-guide.md, "Restart and stop".
        const stop = (signal: NodeJS.Signals) => {
          const teardown = signal === STOP_SIGNAL;
          sd.stopping();
          log.info({ signal, teardown }, teardown ? 'stopping for good' : 'stopping (tunnels stay up)');
          process.off('SIGHUP', hup);
          // Stopping already: a second signal is logged, not acted on (the listener stays, see above).
          onStop = (again) => log.info({ signal: again }, 'stopping already');
          handle.close({ teardown }).then(resolve, (err: Error) => {
            log.error({ err: err.message }, 'while stopping');
            resolve();
          });
        };
        process.on('SIGHUP', hup);
        onStop = stop;
        if (pending) stop(pending);
      });
      log.info('stopped');
    });

  hq.command('down')
    .description('remove what a stopped concentrator left in place: its WireGuard interface (with peers and routes), probe echo and control socket')
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = cmd.optsWithGlobals<{ config: string }>();
      const cfg = await loadHqConfig(config);
      const { controlRequest } = await import('../shared/control.js');
      if (await controlRequest(cfg.control_socket, 'GET', '/v1/health', { timeoutMs: 5000 }).catch(() => null)) {
        process.stderr.write(`a concentrator is running on ${cfg.control_socket}: stop it for good first (systemctl stop roamlink-hq, or kill -${STOP_SIGNAL.slice(3)} its pid)\n`);
        process.exitCode = 1;
        return;
      }
      const { echoPidfile } = await import('../concentrator/daemon.js');
      const { stopEcho } = await import('../concentrator/echo.js');
      stopEcho(echoPidfile(cfg));
      const { createWg } = await import('../shared/wg.js');
      await createWg().deleteInterface(cfg.interface);
      rmSync(cfg.control_socket, { force: true });
      process.stdout.write(`${cfg.interface}: removed (interface, its peers and routes; the probe echo)\n`);
    });

  registerOperator(hq);
  registerIdentity(hq);

  hq.command('backup <FILE>')
    .description('write the whole store (registry, switch log, sites, drives; SQLite or PostgreSQL) to FILE (gzip\'d JSON lines), consistent while the daemon runs')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const { config } = cmd.optsWithGlobals<{ config: string }>();
      const { backup } = await import('../concentrator/store/backup.js');
      await withStores(await loadHqConfig(config), async (stores) => {
        const r = await backup(stores.parts, stores.kind, file);
        process.stdout.write(`${file}: ${rowsText(r.rows)} (from ${stores.kind})\n`);
      });
    });

  hq.command('restore <FILE>')
    .description('read a backup into this config\'s store, which must be empty (SQLite or PostgreSQL, whichever the backup came from); the daemon must be stopped')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const { config } = cmd.optsWithGlobals<{ config: string }>();
      const cfg = await loadHqConfig(config);
      const { controlRequest } = await import('../shared/control.js');
      if (await controlRequest(cfg.control_socket, 'GET', '/v1/health', { timeoutMs: 5000 }).catch(() => null)) {
        process.stderr.write(`a concentrator is running on ${cfg.control_socket}: stop it first (systemctl stop roamlink-hq)\n`);
        process.exitCode = 1;
        return;
      }
      const { InputError } = await import('../shared/errors.js');
      if (!existsSync(file)) throw new InputError(`no such file: ${file}`, 'FILE');
      const { restore } = await import('../concentrator/store/backup.js');
      await withStores(cfg, async (stores) => {
        const r = await restore(stores.parts, file);
        process.stdout.write(`restored into ${stores.kind}: ${rowsText(r.rows)}\n`);
      });
    });

  hq.command('pubkey')
    .description("print the concentrator's public key (from private_key_file)")
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = cmd.optsWithGlobals<{ config: string }>();
      const cfg = await loadHqConfig(config);
      const { publicKeyOf } = await import('../shared/wg.keys.js');
      const pub = publicKeyOf(await readPrivateKeyFile(cfg.private_key_file));
      process.stdout.write(`${pub}\n`);
    });
}

/** This config's stores (SQLite or PostgreSQL), open while `use` runs and closed after it, even when it throws. */
async function withStores<T>(cfg: Awaited<ReturnType<typeof loadHqConfig>>, use: (stores: Awaited<ReturnType<typeof import('../concentrator/store/stores.js').openStores>>) => Promise<T>): Promise<T> {
  const { openStores } = await import('../concentrator/store/stores.js');
  const stores = await openStores(cfg);
  try {
    return await use(stores);
  } finally {
    await stores.close();
  }
}

/** A backup's or restore's rows per table, for people: `vehicles 3, switch_events 120`. */
const rowsText = (rows: Record<string, number>) => Object.entries(rows).map(([t, n]) => `${t} ${n}`).join(', ');
