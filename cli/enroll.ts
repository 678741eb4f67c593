// `roamlink enroll CODE --hq HOST`: enrolls this vehicle with HQ by a one-time code (agent/enroll/enroll.run.ts).
import type { Command } from 'commander';

export function registerEnroll(program: Command): void {
  program
    .command('enroll')
    .description("enroll this vehicle: make its WireGuard key here, register the public key with HQ by the one-time code `roamlink vehicle add` printed, and write agent.yaml; exit 2 when HQ refuses (an expired or used code), nothing changed")
    .argument('<code>', 'the enrollment code (a secret)')
    .requiredOption('--hq <host[:port]>', "HQ's enrollment listener (enroll_listen; port 8444 by default)")
    .option('--pin <sha256>', "HQ's certificate fingerprint, as `roamlink vehicle add` printed it")
    .option('--ca <file>', "a CA (or HQ's certificate) to verify HQ by, instead of --pin")
    .option('-c, --config <file>', 'the agent config to write (made from the example when absent)', '/etc/roamlink/agent.yaml')
    .option('--key <file>', "the vehicle's WireGuard private key (made when absent, mode 0600)", '/etc/roamlink/agent.key')
    .option('--endpoint <host:port>', "HQ's WireGuard endpoint, when vehicles reach it elsewhere than --hq's host at HQ's listen_port")
    .option('--json', 'print the enrollment as JSON')
    .action(async (code: string, opts: { hq: string; pin?: string; ca?: string; config: string; key: string; endpoint?: string; json?: boolean }) => {
      const { runEnroll } = await import('../agent/enroll/enroll.run.js');
      const r = await runEnroll({ code, hq: opts.hq, config: opts.config, key: opts.key, ...(opts.pin ? { pin: opts.pin } : {}), ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) });
      if (opts.json) return console.log(JSON.stringify({ ...r.response, config: r.config, key: r.key, key_made: r.keyMade }));
      const e = r.response;
      console.log(`enrolled as ${e.vehicle}: tunnel address ${e.tunnel_address}, LAN ${e.subnet}${e.site ? `, site ${e.site}` : ''}`);
      console.log(`  key:    ${r.key} (${r.keyMade ? 'made here' : 'the one already here'}, mode 0600; never leaves the vehicle)`);
      console.log(`  config: ${r.config} (mode 0600): check its uplinks and LAN interface, then systemctl enable --now roamlink-agent`);
    });
}
