// `roamlink site add|list|show|set|history|remove`: sites, how a vehicle knows it is at one, and their threshold profiles.
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { DEFAULT_HQ_CONFIG, loadHqConfig } from '../shared/config/hq.js';
import { InputError } from '../shared/errors.js';
import { PROFILE_FIELDS, effectiveProfile, type Site } from '../shared/wire/site-profile.js';
import type { SiteService, SitePatch } from '../concentrator/store/sites/service.js';
import { openSiteStore } from '../concentrator/store/stores.js';
import type { AuditEntry } from '../concentrator/store/sites/schema.js';
import { registerSiteSimulate } from './simulate.js';
import { columns } from './table.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const collect = (v: string, prev: string[]) => [...prev, v];
const MATCH_KEYS = ['ssid', 'bssid', 'area_prefix'] as const;

/** Who the audit names for a change from this shell. */
function cliWho(): string {
  let user = process.env.SUDO_USER;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = String(process.getuid?.() ?? '?');
    }
  }
  return `cli:${user}`;
}

/**
 * SETTING=VALUE arguments: a profile field (switch_below=-70, lte=never; empty value: back to the default),
 * ssid/bssid/area_prefix (comma-separated lists), description. Pure.
 */
export function parseSettings(args: readonly string[]): SitePatch {
  const patch: SitePatch = {};
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw new InputError(`"${a}" is not SETTING=VALUE (e.g. switch_below=-70)`, 'SETTING');
    const key = a.slice(0, i).trim().replace(/-/g, '_');
    const raw = a.slice(i + 1).trim();
    if (key === 'description') patch.description = raw === '' ? null : raw;
    else if ((MATCH_KEYS as readonly string[]).includes(key)) {
      (patch.match ??= {})[key as (typeof MATCH_KEYS)[number]] = raw === '' ? [] : raw.split(',').map((s) => s.trim()).filter(Boolean);
    } else if ((PROFILE_FIELDS as string[]).includes(key)) {
      const value = raw === '' ? null : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
      (patch.profile ??= {})[key as keyof NonNullable<SitePatch['profile']>] = value as never;
    } else {
      throw new InputError(`not a site setting (one of ${[...PROFILE_FIELDS, ...MATCH_KEYS, 'description'].join(', ')})`, key);
    }
  }
  return patch;
}

function human(s: Site): string {
  const eff = effectiveProfile(s.profile);
  const own = new Set(Object.keys(s.profile));
  const lines = [
    `name:         ${s.name}`,
    `version:      ${s.version} (changed ${s.updated_at})`,
    `description:  ${s.description ?? '-'}`,
    `match:        ${[...s.match.ssid.map((x) => `ssid ${x}`), ...s.match.bssid.map((x) => `bssid ${x}`), ...s.match.area_prefix.map((x) => `prefix ${x}`)].join(', ') || '(where no other site matches)'}`,
    'profile:',
    ...PROFILE_FIELDS.map((k) => `  ${k.padEnd(18)} ${String(eff[k]).padEnd(10)}${own.has(k) ? '' : ' (default)'}`),
  ];
  return lines.join('\n');
}

function humanAudit(a: AuditEntry): string {
  const changes = Object.entries(a.diff).map(([k, v]) => `${k}: ${JSON.stringify(v.from)} -> ${JSON.stringify(v.to)}`);
  return `${a.at}  v${a.version}  ${a.action.padEnd(6)}  ${a.who}\n${changes.map((c) => `    ${c}`).join('\n')}`;
}

async function withSites<T>(config: string, fn: (s: SiteService) => T | Promise<T>): Promise<T> {
  const cfg = await loadHqConfig(config);
  const opened = await openSiteStore(cfg);
  try {
    return await fn(opened.store);
  } finally {
    await opened.close();
  }
}

export function registerSite(program: Command): void {
  const site = program
    .command('site')
    .description('sites (matched by the SSID, BSSID or area prefix of the AP in use) and their threshold profiles; agents apply changes within seconds');

  site
    .command('add <NAME> [SETTING=VALUE...]')
    .description(`add a site; settings: ${PROFILE_FIELDS.join(', ')}, description (the site named "default" applies where no other matches)`)
    .option('--ssid <ssid>', 'match APs with this SSID (repeatable)', collect, [])
    .option('--bssid <bssid>', 'match this AP (repeatable)', collect, [])
    .option('--area-prefix <prefix>', 'match APs whose SSID or BSSID starts with this (repeatable)', collect, [])
    .option('--description <text>', 'what the site is')
    .option('--json', 'print the site as one JSON object')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string, settings: string[], opts: { ssid: string[]; bssid: string[]; areaPrefix: string[]; description?: string; json?: boolean; config: string }) => {
      const patch = parseSettings(settings);
      const input = {
        name,
        description: opts.description ?? patch.description ?? null,
        match: { ssid: [...opts.ssid, ...(patch.match?.ssid ?? [])], bssid: [...opts.bssid, ...(patch.match?.bssid ?? [])], area_prefix: [...opts.areaPrefix, ...(patch.match?.area_prefix ?? [])] },
        profile: Object.fromEntries(Object.entries(patch.profile ?? {}).filter(([, v]) => v !== null)),
      };
      const s = await withSites(opts.config, (svc) => svc.add(input, cliWho()));
      out(opts.json ? JSON.stringify(s) : `site ${s.name} added (version 1); agents apply it within seconds`);
    });

  site
    .command('set <NAME> [SETTING=VALUE...]')
    .description('change a site: SETTING=VALUE sets, SETTING= puts a profile field back to its default; --ssid/--bssid/--area-prefix replace that list')
    .option('--ssid <ssid>', 'the SSIDs to match (repeatable; replaces the list)', collect, [])
    .option('--bssid <bssid>', 'the BSSIDs to match (repeatable; replaces the list)', collect, [])
    .option('--area-prefix <prefix>', 'the area prefixes to match (repeatable; replaces the list)', collect, [])
    .option('--description <text>', 'what the site is')
    .option('--json', 'print the site as one JSON object')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string, settings: string[], opts: { ssid: string[]; bssid: string[]; areaPrefix: string[]; description?: string; json?: boolean; config: string }) => {
      const patch = parseSettings(settings);
      if (opts.description !== undefined) patch.description = opts.description;
      if (opts.ssid.length) (patch.match ??= {}).ssid = opts.ssid;
      if (opts.bssid.length) (patch.match ??= {}).bssid = opts.bssid;
      if (opts.areaPrefix.length) (patch.match ??= {}).area_prefix = opts.areaPrefix;
      if (!Object.keys(patch).length) throw new InputError('nothing to change (give SETTING=VALUE, --ssid, --bssid, --area-prefix or --description)', 'SETTING');
      const r = await withSites(opts.config, (svc) => svc.update(name, patch, cliWho()));
      if (opts.json) out(JSON.stringify(r.site));
      else out(r.changed ? `site ${name} is now version ${r.site.version}; agents apply it within seconds` : `site ${name}: nothing changed (version ${r.site.version})`);
    });

  site
    .command('list')
    .description('the sites')
    .option('--json', 'one JSON object per line')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (opts: { json?: boolean; config: string }) => {
      const set = await withSites(opts.config, (svc) => svc.set());
      if (opts.json) {
        for (const s of set.sites) out(JSON.stringify(s));
        return;
      }
      const rows = [['NAME', 'VERSION', 'MATCH', 'CHANGED'], ...set.sites.map((s) => [s.name, String(s.version), [...s.match.ssid, ...s.match.bssid, ...s.match.area_prefix.map((p) => `${p}*`)].join(',') || '-', s.updated_at])];
      for (const line of columns(rows)) out(line);
      process.stderr.write(`profile set version ${set.version}\n`);
    });

  site
    .command('show <NAME>')
    .description('one site: match rules and its effective profile (defaults marked)')
    .option('--json', 'one JSON object: the site and its effective profile')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string, opts: { json?: boolean; config: string }) => {
      const s = await withSites(opts.config, (svc) => svc.get(name));
      if (!s) throw new InputError(`no site "${name}"`, 'NAME');
      out(opts.json ? JSON.stringify({ ...s, effective: effectiveProfile(s.profile) }) : human(s));
    });

  site
    .command('history <NAME>')
    .description('every change to a site: who, when, what')
    .option('--json', 'one JSON object per line')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string, opts: { json?: boolean; config: string }) => {
      const h = await withSites(opts.config, (svc) => svc.history(name));
      if (!h.length) throw new InputError(`no site "${name}" (ever)`, 'NAME');
      for (const a of h) out(opts.json ? JSON.stringify(a) : humanAudit(a));
    });

  registerSiteSimulate(site);

  site
    .command('remove <NAME>')
    .description('remove a site (its history stays); vehicles there fall back to the default site')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string, opts: { config: string }) => {
      const s = await withSites(opts.config, (svc) => svc.remove(name, cliWho()));
      out(`site ${s.name} removed`);
    });
}

