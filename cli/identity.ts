// `roamlink hq identity export FILE | import FILE`: HQ's WireGuard key and admin certificate moved to a second
// concentrator in one file (mode 0600), written there where its hq.yaml says (concentrator/identity.ts).
import type { Command } from 'commander';
import { loadHqConfig } from '../shared/config/hq.js';

const note = (s: string) => process.stderr.write(`${s}\n`);

function describe(s: { public_key: string; admin_sha256: string | null }): string {
  return `WireGuard public key ${s.public_key}${s.admin_sha256 ? `, admin certificate SHA-256 ${s.admin_sha256}` : ', no admin certificate (admin_tls not set)'}`;
}

export function registerIdentity(hq: Command): void {
  const id = hq.command('identity').description("HQ's identity (WireGuard key, admin certificate and key) for a second concentrator: export here, import there");

  id.command('export <FILE>')
    .description('write the WireGuard private key and the admin certificate and key into FILE (new, mode 0600)')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const cfg = await loadHqConfig(cmd.optsWithGlobals<{ config: string }>().config);
      const { exportIdentity } = await import('../concentrator/identity.js');
      const s = await exportIdentity(cfg, file);
      note(`${file} written (mode 0600): ${describe(s)}`);
      note(`it holds private keys: copy it to the other concentrator (scp), run roamlink hq identity import ${file} there, then delete both copies`);
    });

  id.command('import <FILE>')
    .description("write FILE's keys where this hq.yaml says (private_key_file, admin_tls), mode 0600; takes effect at the next restart")
    .option('--force', 'replace key files that exist and differ (the old keys are lost)')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ config: string; force?: boolean }>();
      // The key files are what this writes: they need not be there, nor be right, yet.
      const cfg = await loadHqConfig(opts.config, { keys: false });
      const { importIdentity } = await import('../concentrator/identity.js');
      const r = await importIdentity(cfg, file, opts.force ?? false);
      note(`imported: ${describe(r.summary)}`);
      note(Object.entries(r.files).map(([field, what]) => `${field}: ${what}`).join(', '));
      if (Object.values(r.files).some((w) => w !== 'unchanged')) note('restart the concentrator to use them: systemctl restart roamlink-hq (the tunnels stay up)');
      process.stdout.write(`${JSON.stringify(r.summary)}\n`);
    });

  id.command('adopt')
    .description("make this concentrator's WireGuard key HQ's in the registry: the fleet moves to it (a concentrator with another key is refused at start)")
    .action(async (_o: unknown, cmd: Command) => {
      const cfg = await loadHqConfig(cmd.optsWithGlobals<{ config: string }>().config);
      const { readIdentity } = await import('../concentrator/identity.js');
      const { openHqKeyStore } = await import('../concentrator/store/stores.js');
      const { hostname } = await import('node:os');
      const { summary } = await readIdentity(cfg);
      const s = await openHqKeyStore(cfg);
      try {
        const before = await s.store.adopt(summary.public_key, hostname());
        if (!before) note(`HQ's key is now ${summary.public_key} (none was recorded)`);
        else if (before.public_key === summary.public_key) note(`HQ's key was already ${summary.public_key}`);
        else note(`HQ's key is now ${summary.public_key}, was ${before.public_key} (recorded by ${before.recorded_by} at ${before.recorded_at}): every vehicle needs the new one`);
        process.stdout.write(`${JSON.stringify({ public_key: summary.public_key, was: before?.public_key ?? null })}\n`);
      } finally {
        await s.close();
      }
    });
}
