// `roamlink site simulate NAME --set k=v ... [--profile FILE] [--since 7d] [--json]`: a site's proposed thresholds tried
// on every vehicle's drive there (as HQ stored them), beside its current ones: per vehicle and in total.
import type { Command } from 'commander';
import { DEFAULT_HQ_CONFIG, loadHqConfig } from '../shared/config/hq.js';
import { InputError } from '../shared/errors.js';
import { parseTimeOrAgo } from '../concentrator/admin/log-query.js';
import { openDriveStore, openSiteStore } from '../concentrator/store/stores.js';
import type { SiteSimulation } from '../concentrator/drives/simulate.js';
import type { Summary } from '../agent/drive/summary.js';
import { overridesOf } from './replay.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const collect = (v: string, prev: string[]) => [...prev, v];

const COLUMNS: Array<[keyof Summary, string]> = [['switches', 'switches'], ['ping_pong', 'ping-pong'], ['lte_ms', 'LTE ms'], ['lte_mb', 'LTE MB'], ['below_ms', 'weak Wi-Fi ms'], ['outage_ms', 'outage ms']];

/** The comparison for people: one row per vehicle and a total, each column "current -> proposed". */
export function simulationTable(s: SiteSimulation): string {
  const changed = Object.entries(s.changed).map(([k, v]) => `${k} ${v.from} -> ${v.to}`).join(', ') || 'nothing';
  const lines = [`site ${s.site}, drives from ${s.since} to ${s.until}: current thresholds -> proposed (${changed})`];
  const rows = [['vehicle', ...COLUMNS.map(([, l]) => l)]];
  const cell = (a: Summary, b: Summary, k: keyof Summary) => `${a[k]} -> ${b[k]}`;
  for (const v of s.vehicles) rows.push([v.vehicle, ...COLUMNS.map(([k]) => cell(v.current, v.proposed, k))]);
  rows.push(['total', ...COLUMNS.map(([k]) => cell(s.total.current, s.total.proposed, k))]);
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) lines.push(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
  if (s.vehicles.length === 0) lines.push('(no vehicle drove there in that window, as far as HQ holds drives)');
  for (const x of s.warnings) lines.push(`warning: ${x}`);
  return lines.join('\n');
}

export function registerSiteSimulate(site: Command): void {
  site
    .command('simulate <NAME>')
    .description("try thresholds on the drives HQ holds: every vehicle that drove at the site, replayed under the site's current profile and the proposed one")
    .option('--set <field=value>', 'a profile field to try (repeatable), e.g. hysteresis_db=8', collect, [])
    .option('--profile <file>', 'a profile to try (YAML or JSON); --set wins over it')
    .option('--since <when>', 'drives from this long ago (2h, 7d) or this ISO time', '7d')
    .option('--until <when>', 'up to this ISO time (or this long ago); default now')
    .option('--json', 'one JSON object: { site, current, proposed, changed, vehicles: [{vehicle, current, proposed}], total, warnings }')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string, opts: { set: string[]; profile?: string; since: string; until?: string; json?: boolean; config: string }) => {
      const now = Date.now();
      const overrides = await overridesOf(opts.set, opts.profile);
      const since = parseTimeOrAgo(opts.since, now, '--since');
      const until = opts.until === undefined ? now : parseTimeOrAgo(opts.until, now, '--until');
      if (until < since) throw new InputError('is before --since', '--until');
      const cfg = await loadHqConfig(opts.config);
      const sites = await openSiteStore(cfg);
      const s = await sites.store.get(name).finally(() => sites.close());
      if (!s) throw new InputError(`no site "${name}"`, 'NAME');
      const { proposedProfile, simulateSite } = await import('../concentrator/drives/simulate.js');
      proposedProfile(s, overrides, (k) => `--set ${k}`);
      const drives = await openDriveStore(cfg);
      const store = drives ? drives.store : { segments: async () => [], text: async () => '' };
      try {
        const r = await simulateSite(store, s, overrides, since, until);
        out(opts.json ? JSON.stringify(r) : simulationTable(r));
      } finally {
        await drives?.close();
      }
    });
}
