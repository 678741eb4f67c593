// `wg addconf` for the reconciler's batches: a peers-only config handed to wg as a 0600 file that lives only while wg reads it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as defaultRun, type Runner } from '../../shared/exec.js';
import { assertIfName, type WgCallOptions } from '../../shared/wg.js';

/** Peers added in one process. Belongs beside WgDriver in shared/wg.ts; kept here until that file's owner takes it. */
export interface PeersBatchDriver {
  /**
   * Adds the peers of `conf` (wg's config format, `[Peer]` sections only) to `ifname`, or updates them: a listed
   * peer's allowed-ips become exactly the listed ones; peers not listed are left alone. wg parses the whole file
   * first, so a file it cannot parse changes nothing (then this throws). May be repeated with the same text.
   */
  addconf(ifname: string, conf: string, opts?: WgCallOptions): Promise<void>;
}

/** Lines that would make the file more than a list of peers (the interface's key or port, a preshared key). */
const NOT_PEERS_ONLY = /^\s*(\[Interface\]|PrivateKey|PresharedKey|ListenPort|FwMark)(?![\w])/im;

/**
 * The file is written in a fresh 0700 directory (tmpfs under /run when writable), mode 0600, and removed as soon as
 * wg returns, as shared/wg.ts does with private keys: it holds no secret, but it is the fleet's list of peers, and
 * nobody else may read it or swap it before wg reads it. wg wants a path: the Runner's stdin is a socket, which
 * `/dev/stdin` cannot open (see withSecretFile there).
 */
async function withPeersFile<T>(conf: string, fn: (path: string) => Promise<T>): Promise<T> {
  let dir: string;
  try {
    dir = await mkdtemp('/run/roamlink-peers-');
  } catch {
    dir = await mkdtemp(join(tmpdir(), 'roamlink-peers-'));
  }
  try {
    const path = join(dir, 'peers.conf');
    await writeFile(path, conf, { mode: 0o600 });
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function createPeersBatch(run: Runner = defaultRun): PeersBatchDriver {
  return {
    async addconf(ifname, conf, opts) {
      assertIfName(ifname, 'interface');
      const bad = NOT_PEERS_ONLY.exec(conf);
      if (bad) throw new Error(`wg addconf: the config must list peers only, found "${bad[1]}"`);
      if (conf.trim() === '') return;
      await withPeersFile(conf, (path) => run(['wg', 'addconf', ifname, path], { netns: opts?.netns, signal: opts?.signal }));
    },
  };
}
