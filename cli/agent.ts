// `roamlink agent` (the vehicle daemon) and `roamlink switch` / `roamlink status` (talk to it over its control socket).
import type { Command } from 'commander';
import { controlRequest, type ControlReply } from '../shared/control.js';
import { loadAgentConfig } from '../shared/config/agent.js';
import { InputError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';
import { startSdNotify } from '../shared/sdnotify.js';
import { healthLine } from '../agent/ship/health.js';
import type { HostHealth } from '../shared/wire/host-health.js';

const DEFAULT_CONFIG = '/etc/roamlink/agent.yaml';

/** A request to the agent on its control socket (shared/control.ts); an error when none listens there. */
export async function agentRequest(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<ControlReply> {
  const r = await controlRequest(socketPath, method, path, { body, timeoutMs });
  if (!r) throw new Error(`the agent is not running (no control socket at ${socketPath})`);
  return r;
}

async function socketOf(opts: { socket?: string; config?: string }): Promise<string> {
  if (opts.socket) return opts.socket;
  return (await loadAgentConfig(opts.config ?? DEFAULT_CONFIG)).control_socket;
}

export function registerAgent(program: Command): void {
  const agent = program
    .command('agent')
    .description('run the vehicle agent: the tunnel, the uplinks, make-before-break switching')
    .option('-c, --config <file>', 'agent config (YAML)', DEFAULT_CONFIG)
    .option('--check', 'only validate the config: exit 0, or 2 naming the bad field')
    .action(async (opts: { config: string; check?: boolean }) => {
      const cfg = await loadAgentConfig(opts.config);
      if (opts.check) {
        console.log(`${opts.config}: ok (vehicle ${cfg.vehicle}, ${cfg.uplinks.length} uplinks)`);
        return;
      }
      const log = createLogger({ name: 'agent', level: cfg.log_level, destination: undefined });
      const { runAgent } = await import('../agent/agent.js');
      const agent = await runAgent(cfg, log, { configFile: opts.config });
      const sd = startSdNotify({ status: `agent ${cfg.vehicle} running`, onError: (err) => log.warn({ err: err.message }, 'sd_notify') });
      // SIGHUP (and the unit's ExecReload, through `roamlink agent reload`) re-reads the config: what changed and can
      // change live is put into effect, a bad file or a restart-only change is refused and logged; the agent runs on.
      const hup = () => void agent.reload('SIGHUP');
      process.on('SIGHUP', hup);
      void agent.done.then(() => process.off('SIGHUP', hup));
      // SIGTERM (systemctl restart or stop, an upgrade) releases the data plane: the next process adopts it. A stop
      // for good removes it with `roamlink agent down` (the unit's ExecStopPost decides which it is).
      for (const sig of ['SIGTERM', 'SIGINT'] as const) {
        process.once(sig, () => {
          sd.stopping();
          void agent.stop('release');
        });
      }
      await agent.done;
    });

  agent
    .command('tunnel-device')
    .description("as root, before an unprivileged agent starts (the unit's ExecStartPre=+): its WireGuard interface, wireguard-go in a scope of its own running as --user with CAP_NET_ADMIN only; nothing when it exists or the kernel has WireGuard")
    .requiredOption('--user <name>', 'the user the agent and wireguard-go run as')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ config: string; user: string }>();
      const cfg = await loadAgentConfig(opts.config);
      const { createWg } = await import('../shared/wg.js');
      const wg = createWg(undefined, { ownScope: !!process.env.INVOCATION_ID, runAs: opts.user });
      const r = await wg.createInterface(cfg.wireguard.interface, { implementation: cfg.wireguard.implementation });
      console.log(`${cfg.wireguard.interface}: ${r.created ? `made (${r.implementation}${r.implementation === 'wireguard-go' ? `, running as ${opts.user}` : ''})` : `there already (${r.implementation}): the agent adopts it`}`);
    });

  agent
    .command('reload')
    .description("re-read the running agent's config (policy, connect-list, SMS settings, log level) without a restart; exit 2 when refused (a bad file, or a field that needs a restart), the running config staying")
    .option('--socket <path>', 'the agent control socket (instead of --config)')
    .option('--json', 'print the outcome as JSON')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ config: string; socket?: string; json?: boolean }>();
      // The socket from the running config when the file is broken: the refusal is the agent's to explain.
      const socket = opts.socket ?? (await loadAgentConfig(opts.config).then((c) => c.control_socket, () => '/run/roamlink/agent.sock'));
      const r = await agentRequest(socket, 'POST', '/v1/reload', undefined, 30_000);
      const body = r.body as { ok?: boolean; result?: string; message?: string };
      if (r.status !== 200 || typeof body.ok !== 'boolean') throw new Error(`agent answered ${r.status}`);
      if (opts.json) console.log(JSON.stringify(body));
      else console.log(`reload: ${body.message}`);
      if (!body.ok) process.exitCode = 2;
    });

  agent
    .command('down')
    .description('remove the data plane a stopped agent left (tunnel, steering, routes, rules, DHCP clients): a stop for good')
    .option('--unless-restarting', "the unit's ExecStopPost: do nothing when systemd restarts the agent (restart, upgrade, crash)")
    .option('--unit <name>', 'the systemd unit (with --unless-restarting)', 'roamlink-agent.service')
    .action(async (_o: unknown, cmd: Command) => {
      // --config is the agent command's (as for `hq pubkey`): `roamlink agent down --config F` works as written.
      const opts = cmd.optsWithGlobals<{ config: string; unlessRestarting?: boolean; unit: string }>();
      const cfg = await loadAgentConfig(opts.config);
      if (opts.unlessRestarting) {
        const { stopVerdict } = await import('../agent/start/stop.verdict.js');
        const { run } = await import('../shared/exec.js');
        const jobs = await run(['systemctl', 'list-jobs', '--no-legend'], { allowFail: true, timeoutMs: 5000 }).then((r) => r.stdout, () => '');
        const v = stopVerdict({ serviceResult: process.env.SERVICE_RESULT, exitStatus: process.env.EXIT_STATUS, jobs, unit: opts.unit });
        console.log(`roamlink agent down: ${v.down ? 'removing the data plane' : 'keeping the data plane'}: ${v.why}`);
        if (!v.down) return;
      }
      const log = createLogger({ name: 'agent', level: cfg.log_level, destination: undefined });
      const { downDataPlane } = await import('../agent/start/tunnel.start.js');
      const { createTunnelDeps } = await import('../agent/agent.js');
      const did = await downDataPlane(cfg, createTunnelDeps(cfg, log));
      console.log(did.length ? did.join('\n') : 'nothing to remove');
    });

  program
    .command('switch')
    .description('operator-forced switch of the tunnel to UPLINK, make-before-break like any other')
    .argument('<uplink>', 'uplink name, e.g. wlan1 or wwan0')
    .option('-c, --config <file>', 'agent config (YAML), for its control socket', DEFAULT_CONFIG)
    .option('--socket <path>', 'the agent control socket (instead of --config)')
    .option('--json', 'print the switch record as JSON')
    .action(async (uplink: string, opts: { config?: string; socket?: string; json?: boolean }) => {
      if (!/^[a-zA-Z0-9_.=+-]{1,15}$/.test(uplink)) throw new InputError(`"${uplink}" is not an uplink name`, 'UPLINK');
      const r = await agentRequest(await socketOf(opts), 'POST', '/v1/switch', { to: uplink });
      const body = r.body as { error?: { message?: string }; switched?: { from: string | null; to: string; ms_to_first_packet: number | null } };
      if (r.status === 400) throw new InputError(body.error?.message ?? 'bad request', 'UPLINK');
      if (r.status !== 200 || !body.switched) throw new Error(body.error?.message ?? `agent answered ${r.status}`);
      if (opts.json) console.log(JSON.stringify(body.switched));
      else console.log(`switched ${body.switched.from ?? '-'} -> ${body.switched.to}; first reply on the new path after ${body.switched.ms_to_first_packet ?? '?'} ms`);
    });

  program
    .command('status')
    .description("the agent's uplinks and which one carries the tunnel")
    .option('-c, --config <file>', 'agent config (YAML), for its control socket', DEFAULT_CONFIG)
    .option('--socket <path>', 'the agent control socket (instead of --config)')
    .option('--json', 'JSON output')
    .action(async (opts: { config?: string; socket?: string; json?: boolean }) => {
      const r = await agentRequest(await socketOf(opts), 'GET', '/v1/status');
      const s = r.body as {
        active: string | null; site?: string | null;
        uplinks: Array<{ name: string; phase: string; ready: boolean; lease: { address: string } | null; rttMs: number | null }>;
        config?: { connect_list: string[]; policy: Record<string, unknown>; reloads: number } | null;
        health?: HostHealth | null;
      };
      if (opts.json) return console.log(JSON.stringify(s));
      console.log(`active: ${s.active ?? 'none'}`);
      for (const u of s.uplinks) {
        console.log(`${u.name === s.active ? '*' : ' '} ${u.name.padEnd(8)} ${u.phase.padEnd(12)} ${(u.lease?.address ?? '-').padEnd(16)} ${u.rttMs === null ? '-' : `${u.rttMs.toFixed(2)} ms`}`);
      }
      if (s.config) {
        const policy = Object.entries(s.config.policy).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
        console.log(`site: ${s.site ?? 'none'}; config policy: ${policy || '(defaults)'}; reloads: ${s.config.reloads}`);
        console.log(`connect-list: ${s.config.connect_list.join(', ') || '(empty)'}`);
      }
      console.log(healthLine(s.health ?? null));
    });
}
