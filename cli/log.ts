// `roamlink log`: the switch log as the concentrator stored it, filtered, followed, or as JSON lines (the lab's hq_log).
import type { Command } from 'commander';
import { realClock } from '../shared/clock.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_HQ_CONFIG, loadHqConfig } from '../shared/config/hq.js';
import { REASONS } from '../shared/reasons.js';
import { parseLogParams, type LogParams } from '../concentrator/admin/log-query.js';
import { eventsPath } from '../concentrator/store/events/db.js';
import type { LogFilter } from '../concentrator/store/events/service.js';
import { openEventLog } from '../concentrator/store/stores.js';
import type { StoredEvent } from '../concentrator/store/events/schema.js';
import { TIME_MARK } from '../concentrator/store/events/time.js';

const out = (s: string) => process.stdout.write(`${s}\n`);

/** The query's own fields (as the API takes them), plus what only the CLI has. */
interface LogOpts extends Pick<LogParams, 'vehicle' | 'site' | 'uplink' | 'reason' | 'since' | 'until'> {
  follow?: boolean;
  json?: boolean;
  config: string;
}

/**
 * One line of `--json`: at least {id, vehicle, from, to, reason, at}. `from` is "-" for the first switch after the
 * agent started (as in the lab report's switches), so every entry reads the same way.
 */
export function jsonLine(e: StoredEvent): string {
  return JSON.stringify({
    id: e.id, vehicle: e.vehicle, seq: e.seq, at: e.at, vehicle_at: e.vehicle_at, time_quality: e.time_quality, clock_offset_ms: e.clock_offset_ms,
    from: e.from ?? '-', to: e.to, reason: e.reason, why: e.why,
    ms_to_first_packet: e.ms_to_first_packet, gap_ms: e.gap_ms, site: e.site, candidates: e.candidates, received_at: e.received_at,
  });
}

/**
 * One line for people: when (HQ's time for it, marked `~` when HQ corrected the vehicle's clock, `?` when it could only
 * estimate), vehicle, from -> to, reason, decision to first packet, site, and the why's line.
 */
export function humanLine(e: StoredEvent): string {
  const ms = e.ms_to_first_packet === null ? 'unconfirmed' : `${e.ms_to_first_packet} ms`;
  const why = (e.why?.text ?? '-').replace(/\s+/g, ' ');
  return `${e.at}${TIME_MARK[e.time_quality].padEnd(1)}  ${e.vehicle.padEnd(12)}  ${`${e.from ?? '-'} -> ${e.to}`.padEnd(18)}  ${e.reason.padEnd(12)}  ${ms.padEnd(11)}  ${(e.site ?? '-').padEnd(12)}  ${why}`;
}

export function registerLog(program: Command): void {
  program
    .command('log')
    .description('the switch log as the concentrator stored it (oldest first; one vehicle in its own order, seq). Times are HQ\'s: ~ after one means HQ corrected the vehicle\'s clock, ? that it could only estimate it')
    .option('--vehicle <name>', 'only this vehicle')
    .option('--site <site>', 'only switches at this site')
    .option('--uplink <name>', 'only switches from or to this uplink')
    .option('--reason <reason>', `only this reason: ${REASONS.join(', ')}`)
    .option('--since <when>', 'from this long ago (2h, 30m, 7d) or this ISO time')
    .option('--until <when>', 'up to this ISO time (or this long ago)')
    .option('--follow', 'keep printing switches as they are stored')
    .option('--json', 'one JSON object per line, each stored event whole: {id, vehicle, seq, at, vehicle_at, time_quality, clock_offset_ms, from, to, reason, why: {rule, text, site, policy, candidates}, ...}')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (opts: LogOpts) => {
      const params: LogParams = { vehicle: opts.vehicle, site: opts.site, uplink: opts.uplink, reason: opts.reason, since: opts.since, until: opts.until };
      for (const k of Object.keys(params) as Array<keyof LogParams>) if (params[k] === undefined) delete params[k];
      const filter = parseLogParams(params, realClock.wallNow(), (k) => `--${k}`);
      const cfg = await loadHqConfig(opts.config);
      const where = cfg.database ? 'the database' : eventsPath(cfg.state_dir);
      const print = opts.json ? (e: StoredEvent) => out(jsonLine(e)) : (e: StoredEvent) => out(humanLine(e));

      let opened = await openEventLog(cfg);
      if (!opts.json && !opts.follow && !opened) process.stderr.write(`no switch log yet (${where})\n`);
      let cursor = 0;
      if (opened) {
        cursor = await opened.store.maxRowid();
        for await (const e of opened.store.iterate({ ...filter, uptoRowid: cursor })) print(e);
      }
      if (!opts.follow) {
        await opened?.close();
        return;
      }
      let stop = false;
      const onSignal = () => (stop = true);
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const tail: LogFilter = { ...filter, afterRowid: cursor };
      while (!stop) {
        await sleep(500);
        opened ??= await openEventLog(cfg);
        if (!opened) continue;
        for await (const e of opened.store.iterate(tail)) {
          print(e);
          tail.afterRowid = e.rowid;
        }
      }
      await opened?.close();
    });
}
