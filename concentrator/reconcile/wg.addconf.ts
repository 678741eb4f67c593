// `wg addconf` for the reconciler's batches: a peers-only config handed to wg as a 0600 file that lives only while wg reads it.
import { run as defaultRun, type Runner } from '../../shared/exec.js';
import { assertIfName, withSecretFile, type WgCallOptions } from '../../shared/wg.js';

/** Peers added in one process (the reconciler's batches). */
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

export function createPeersBatch(run: Runner = defaultRun): PeersBatchDriver {
  return {
    async addconf(ifname, conf, opts) {
      assertIfName(ifname, 'interface');
      const bad = NOT_PEERS_ONLY.exec(conf);
      if (bad) throw new Error(`wg addconf: the config must list peers only, found "${bad[1]}"`);
      if (conf.trim() === '') return;
      // The list of peers is no secret, but nobody else may read it or swap it before wg reads it: same handling.
      await withSecretFile(conf, (path) => run(['wg', 'addconf', ifname, path], { netns: opts?.netns, signal: opts?.signal }));
    },
  };
}
