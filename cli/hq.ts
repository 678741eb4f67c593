// `roamlink hq`: the concentrator daemon (with --check, only validates its config) and `roamlink hq pubkey`.
import type { Command } from 'commander';
import { startSdNotify } from '../shared/sdnotify.js';
import { DEFAULT_HQ_CONFIG, loadHqConfig, readPrivateKeyFile } from '../shared/config/hq.js';
import { createLogger } from '../shared/log.js';
import { createWg } from '../shared/wg.js';

export function registerHq(program: Command): void {
  const hq = program
    .command('hq')
    .description('run the concentrator: WireGuard interface, peers and routes from the registry, admin API on the control socket')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .option('--check', 'only validate the config (exit 0, or 2 naming the bad field)')
    .action(async (opts: { config: string; check?: boolean }) => {
      const cfg = await loadHqConfig(opts.config);
      if (opts.check) {
        process.stdout.write(`${opts.config}: ok (interface ${cfg.interface}, tunnel ${cfg.tunnel_network}, HQ ${cfg.tunnel_address})\n`);
        return;
      }
      const log = createLogger({ name: 'hq', level: cfg.log_level });
      // Loaded here, not at the top: the agent's process runs the same CLI and has no use for the concentrator.
      const { startHq } = await import('../concentrator/daemon.js');
      const handle = await startHq(cfg, { log });
      const sd = startSdNotify({ status: `concentrator ready on ${cfg.interface}`, onError: (err) => log.warn({ err: err.message }, 'sd_notify') });
      await new Promise<void>((resolve) => {
        const hup = () => {
          log.info('SIGHUP: reconciling');
          void handle.reconcile();
        };
        const stop = (signal: NodeJS.Signals) => {
          sd.stopping();
          log.info({ signal }, 'stopping');
          process.off('SIGHUP', hup);
          handle.close().then(resolve, (err: Error) => {
            log.error({ err: err.message }, 'while stopping');
            resolve();
          });
        };
        process.on('SIGHUP', hup);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      log.info('stopped');
    });

  hq.command('pubkey')
    .description("print the concentrator's public key (from private_key_file)")
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = cmd.optsWithGlobals<{ config: string }>();
      const cfg = await loadHqConfig(config);
      const pub = await createWg().pubKey(await readPrivateKeyFile(cfg.private_key_file));
      process.stdout.write(`${pub}\n`);
    });
}
