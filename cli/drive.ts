// `roamlink drive export --vehicle V [--since 24h] [--until T] [--out FILE]`: a vehicle's drive as HQ stored it, in the
// drive format `roamlink replay` reads.
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { DEFAULT_HQ_CONFIG, loadHqConfig } from '../shared/config/hq.js';
import { InputError } from '../shared/errors.js';
import { parseLogParams } from '../concentrator/admin/log-query.js';
import { drivesPath } from '../concentrator/store/drives/db.js';
import { openDriveStore } from '../concentrator/store/stores.js';
import { exportDrive } from '../concentrator/drives/export.js';

interface ExportOpts {
  vehicle?: string;
  since: string;
  until?: string;
  out?: string;
  config: string;
}

export function registerDrive(program: Command): void {
  const drive = program.command('drive').description("the vehicles' drives HQ keeps (shipped by the agents inside the tunnel)");
  drive
    .command('export')
    .description('write a vehicle\'s drive over a window in the drive format (what `roamlink replay` reads)')
    .requiredOption('--vehicle <name>', 'the vehicle')
    .option('--since <when>', 'from this long ago (2h, 24h, 7d) or this ISO time', '24h')
    .option('--until <when>', 'up to this ISO time (or this long ago); default now')
    .option('--out <file>', 'write here (default: standard output)')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (opts: ExportOpts) => {
      const now = Date.now();
      const f = parseLogParams({ vehicle: opts.vehicle, since: opts.since, ...(opts.until !== undefined ? { until: opts.until } : {}) }, now, (k) => `--${k}`);
      const cfg = await loadHqConfig(opts.config);
      const opened = await openDriveStore(cfg);
      if (!opened) throw new InputError(`HQ holds no drives yet (${drivesPath(cfg.state_dir)})`, '--vehicle');
      const { store } = opened;
      try {
        const d = await exportDrive(store, f.vehicle!, f.sinceMs!, f.untilMs ?? now);
        if (!d) throw new InputError(`HQ holds no drive of "${f.vehicle}" between ${new Date(f.sinceMs!).toISOString()} and ${new Date(f.untilMs ?? now).toISOString()}`, '--vehicle');
        if (opts.out) {
          await writeFile(opts.out, d.text);
          process.stderr.write(`${opts.out}: ${d.segments.length} segment(s), ${Buffer.byteLength(d.text)} bytes\n`);
        } else process.stdout.write(d.text);
      } finally {
        await opened.close();
      }
    });
}
