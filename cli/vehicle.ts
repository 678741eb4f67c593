// `roamlink vehicle add|list|show|revoke`: the registry of vehicles; each change is then programmed by the running daemon.
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { InputError } from '../shared/errors.js';
import { DEFAULT_HQ_CONFIG, loadHqConfig, readPrivateKeyFile, type HqConfig } from '../shared/config/hq.js';
import { createWg } from '../shared/wg.js';
import { controlRequest } from '../shared/control.js';
import type { Vehicle } from '../concentrator/store/vehicles/schema.js';
import { columns } from './table.js';

/** The registry, loaded when a vehicle command runs (better-sqlite3 and the store, no fastify). */
const openVehicles = async (...a: Parameters<typeof import('../concentrator/store/vehicles/open.js').openVehicles>) => (await import('../concentrator/store/vehicles/open.js')).openVehicles(...a);

const out = (s: string) => process.stdout.write(`${s}\n`);
/** Who runs the command, for the audit: the operator behind sudo, else the user. */
const operatorName = () => process.env.SUDO_USER || userInfo().username;
const note = (s: string) => process.stderr.write(`${s}\n`);

/** Asks the running concentrator to program the registry now; without one, says when it will be. */
async function programNow(cfg: HqConfig): Promise<void> {
  let reply;
  try {
    reply = await controlRequest(cfg.control_socket, 'POST', '/v1/reconcile');
  } catch (err) {
    note(`warning: could not reach the concentrator on ${cfg.control_socket} (${err instanceof Error ? err.message : String(err)}); it programs the change when it next reconciles (SIGHUP or restart)`);
    return;
  }
  if (!reply) note(`no concentrator is running on ${cfg.control_socket}: the change will be programmed when it starts`);
  else if (reply.status === 200) note('programmed by the running concentrator');
  else {
    const msg = (reply.body as { error?: { message?: string } })?.error?.message ?? `HTTP ${reply.status}`;
    note(`warning: the concentrator could not program every change (${msg}); see its log, it retries on SIGHUP or restart`);
  }
}

/**
 * Applies the registry now, for a revocation: through the running concentrator, else (no daemon, or no answer) by one
 * pass from here. ok only when the peer and route are gone (or there is no interface to carry them).
 */
async function applyRevocation(cfg: HqConfig): Promise<{ ok: boolean; how: string }> {
  const reply = await controlRequest(cfg.control_socket, 'POST', '/v1/reconcile', { timeoutMs: 10_000 }).catch(() => null);
  if (reply?.status === 200) return { ok: true, how: 'removed by the running concentrator' };
  if (reply) {
    const msg = (reply.body as { error?: { message?: string } })?.error?.message ?? `HTTP ${reply.status}`;
    return { ok: false, how: `the concentrator could not apply it (${msg})` };
  }
  const [{ reconcileOnce }, { createRoutes }, { createLogger }] = await Promise.all([
    import('../concentrator/reconcile/once.js'),
    import('../concentrator/routes.js'),
    import('../shared/log.js'),
  ]);
  const { close, vehicles } = await openVehicles(cfg);
  try {
    const r = await reconcileOnce(cfg, vehicles, { wg: createWg(), routes: createRoutes(), log: createLogger({ name: 'vehicle', level: 'warn' }) });
    if (r === null) return { ok: true, how: `no concentrator answered and ${cfg.interface} does not exist: nothing carries its traffic` };
    if (r.ok) return { ok: true, how: `no concentrator answered: removed from ${cfg.interface} directly` };
    const failed = r.changes.filter((c) => !c.ok).map((c) => c.error ?? 'failed');
    return { ok: false, how: r.error ?? failed.join('; ') };
  } catch (err) {
    return { ok: false, how: err instanceof Error ? err.message : String(err) };
  } finally {
    await close();
  }
}

function human(v: Vehicle & { peer?: { endpoint: string | null; latest_handshake: string | null; rx_bytes: number; tx_bytes: number } }): string {
  const lines = [
    `name:            ${v.name}`,
    `state:           ${v.revoked_at ? `revoked ${v.revoked_at}` : 'active'}`,
    `public key:      ${v.public_key}`,
    `tunnel address:  ${v.tunnel_address}`,
    `subnet:          ${v.subnet}`,
    `site:            ${v.site ?? '-'}`,
    `created:         ${v.created_at}`,
  ];
  if (v.peer) {
    lines.push(`endpoint:        ${v.peer.endpoint ?? '-'}`, `last handshake:  ${v.peer.latest_handshake ?? 'never'}`, `transfer:        ${v.peer.rx_bytes} B received, ${v.peer.tx_bytes} B sent`);
  }
  return lines.join('\n');
}

export function registerVehicle(program: Command): void {
  const vehicle = program.command('vehicle').description('the registry of vehicles (name, WireGuard key, tunnel address, LAN subnet, site)');

  vehicle
    .command('add <NAME>')
    .description('register a vehicle: prints a one-time enrollment code for `roamlink enroll CODE --hq HOST` on the vehicle (which makes its key there); or register a public key at once (--pubkey); HQ makes the private key only with --make-key')
    .option('--subnet <cidr>', "the vehicle's LAN (IPv4 network, e.g. 10.20.7.0/24); default: the lowest free /24 in vehicle_subnets")
    .option('--subnet-prefix <len>', 'the size of the subnet allocated without --subnet', (v) => Number(v), 24)
    .option('--pubkey <key>', "the vehicle's WireGuard public key: registered now, no code")
    .option('--make-key', "make the vehicle's private key here, in STATE_DIR/keys/NAME.key (to carry to the vehicle): only when it cannot make its own")
    .option('--valid <duration>', 'how long the enrollment code is valid (1m to 24h)', '15m')
    .option('--site <site>', 'where the vehicle is based')
    .option('--json', 'print the result as one JSON object')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string, opts: { subnet?: string; subnetPrefix: number; pubkey?: string; makeKey?: boolean; valid: string; site?: string; json?: boolean; config: string }) => {
      const cfg = await loadHqConfig(opts.config);
      if (opts.pubkey !== undefined && opts.makeKey) throw new InputError('give --pubkey or --make-key, not both', '--make-key');
      if (opts.pubkey === undefined && !opts.makeKey) {
        const { issueEnrollmentCode } = await import('../concentrator/enroll/issue.js');
        const issued = await issueEnrollmentCode(cfg, { name, subnet: opts.subnet, subnetPrefix: opts.subnetPrefix, site: opts.site ?? null, valid: opts.valid, who: operatorName() });
        if (opts.json) out(JSON.stringify(issued));
        else {
          out(`enrollment code for ${issued.name}: ${issued.code}`);
          out(`  valid until ${issued.expires_at}, once; it is a secret: give it to the vehicle's installer only`);
          out(`  on the vehicle: roamlink enroll ${issued.code} --hq ${issued.hq ?? 'HQ-ADDRESS:PORT'}${issued.pin ? ` --pin ${issued.pin}` : ''}`);
          if (!cfg.enroll_listen) note('warning: enroll_listen is not set in the HQ config: no vehicle can redeem the code until it is (and the concentrator restarted)');
        }
        return;
      }
      const wg = createWg();
      const hqPublicKey = await wg.pubKey(await readPrivateKeyFile(cfg.private_key_file));
      let publicKey = opts.pubkey;
      let privateKey: string | undefined;
      if (publicKey === undefined) {
        privateKey = await wg.genKey();
        publicKey = await wg.pubKey(privateKey);
      }
      const { close, vehicles, enrollments } = await openVehicles(cfg, hqPublicKey);
      let added;
      try {
        added = await vehicles.add({
          name, subnet: opts.subnet, subnetPrefix: opts.subnetPrefix, publicKey, site: opts.site ?? null, privateKey,
          also: (trx, v) => enrollments.audit(operatorName(), 'added', v.name, `added by the CLI: public key ${v.public_key}${privateKey ? ' (made at HQ: --make-key)' : ''}, tunnel ${v.tunnel_address}, subnet ${v.subnet}`, trx),
        });
      } finally {
        await close();
      }
      const v = added.vehicle;
      const concentrator = { public_key: hqPublicKey, tunnel_address: cfg.tunnel_address, listen_port: cfg.listen_port };
      if (opts.json) {
        out(JSON.stringify({
          name: v.name, public_key: v.public_key, tunnel_address: v.tunnel_address, subnet: v.subnet, site: v.site, concentrator,
          ...(added.privateKeyFile ? { private_key_file: added.privateKeyFile } : {}),
        }));
      } else {
        out(`vehicle ${v.name} added: tunnel address ${v.tunnel_address}, subnet ${v.subnet}${v.site ? `, site ${v.site}` : ''}`);
        out(`  public key:   ${v.public_key}`);
        if (added.privateKeyFile) out(`  private key:  written to ${added.privateKeyFile} (mode 0600); install it on the vehicle, then delete it here`);
        out(`  concentrator: public key ${concentrator.public_key}, tunnel address ${concentrator.tunnel_address}, port ${concentrator.listen_port}`);
      }
      await programNow(cfg);
    });

  vehicle
    .command('list')
    .description('list the vehicles, revoked ones included')
    .option('--json', 'one JSON object per line')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (opts: { json?: boolean; config: string }) => {
      const cfg = await loadHqConfig(opts.config);
      const { close, vehicles } = await openVehicles(cfg);
      const all = await vehicles.list();
      await close();
      if (opts.json) {
        for (const v of all) out(JSON.stringify(v));
        return;
      }
      const rows = [['NAME', 'STATE', 'TUNNEL', 'SUBNET', 'SITE', 'PUBLIC KEY'], ...all.map((v) => [v.name, v.revoked_at ? 'revoked' : 'active', v.tunnel_address, v.subnet, v.site ?? '-', v.public_key])];
      for (const line of columns(rows)) out(line);
    });

  vehicle
    .command('show <NAME>')
    .description('one vehicle, with its live WireGuard state when the concentrator runs')
    .option('--json', 'one JSON object')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string, opts: { json?: boolean; config: string }) => {
      const cfg = await loadHqConfig(opts.config);
      const { close, vehicles } = await openVehicles(cfg);
      let v: Vehicle & { peer?: never };
      try {
        v = await vehicles.require(name);
      } finally {
        await close();
      }
      const live = await controlRequest(cfg.control_socket, 'GET', `/v1/vehicles/${encodeURIComponent(name)}`, { timeoutMs: 5000 }).catch(() => null);
      const shown = live?.status === 200 && (live.body as Vehicle).public_key === v.public_key ? (live.body as Vehicle) : v;
      out(opts.json ? JSON.stringify(shown) : human(shown));
    });

  vehicle
    .command('audit [NAME]')
    .description("the registry's audit, oldest first: who issued, cancelled and redeemed enrollment codes (and from where refused ones came), who added and revoked vehicles, and when; one vehicle's with NAME")
    .option('--limit <n>', 'the latest N lines (1 to 10000)', (v) => Number(v), 100)
    .option('--json', 'one JSON object per line')
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string | undefined, opts: { limit: number; json?: boolean; config: string }) => {
      if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 10_000) throw new InputError(`${JSON.stringify(String(opts.limit))}: a whole number from 1 to 10000`, '--limit');
      const cfg = await loadHqConfig(opts.config);
      const { close, enrollments } = await openVehicles(cfg);
      let lines;
      try {
        lines = (await enrollments.recentAudit(opts.limit, name)).reverse();
      } finally {
        await close();
      }
      if (opts.json) {
        for (const a of lines) out(JSON.stringify(a));
        return;
      }
      for (const line of columns([['AT', 'WHO', 'ACTION', 'VEHICLE', 'DETAIL'], ...lines.map((a) => [a.at, a.who, a.action, a.vehicle ?? '-', a.detail])])) out(line);
    });

  vehicle
    .command('revoke <NAME>')
    .description("revoke a vehicle and remove its peer and route at once (through the running concentrator, else directly); exit 1 when that could not be applied")
    .option('--config <file>', 'HQ config file', DEFAULT_HQ_CONFIG)
    .action(async (name: string, opts: { config: string }) => {
      const cfg = await loadHqConfig(opts.config);
      const { close, vehicles, enrollments } = await openVehicles(cfg);
      let v: Vehicle;
      try {
        v = await vehicles.revoke(name, (trx, r) => enrollments.audit(operatorName(), 'revoked', r.name, `revoked by the CLI: public key ${r.public_key}, tunnel ${r.tunnel_address}, subnet ${r.subnet}`, trx));
      } finally {
        await close();
      }
      out(`vehicle ${v.name} revoked (tunnel address ${v.tunnel_address} and subnet ${v.subnet} are free again)`);
      const applied = await applyRevocation(cfg);
      if (!applied.ok) {
        throw new Error(`${v.name} is revoked in the registry but NOT yet removed from ${cfg.interface}: ${applied.how}; a running concentrator retries (every ${cfg.reconcile_interval_ms / 1000} s at most); check with \`wg show ${cfg.interface}\``);
      }
      note(applied.how);
    });
}
