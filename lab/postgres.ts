// A private PostgreSQL for tests and the lab (two HQs on one store): Debian's binaries (/usr/lib/postgresql/N/bin),
// initdb in a temp directory, listening only on a unix socket there, run as the `postgres` user when we are root (it
// refuses root); stopped and removed at exit even when a test fails.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** Its private directory (data, socket, log), removed by destroy(). */
  readonly dir: string;
  /** A fresh, empty database; its URL. */
  createDatabase(name: string): Promise<string>;
  /** The server's URL for `db` (unix socket, trust authentication, user roamlink). */
  url(db: string): string;
  /** Stops the server (fast mode) and starts it again on the same directory: a database lost and back. */
  stop(): void;
  start(): void;
  /** Stops it for good and removes the directory (also done at process exit). */
  destroy(): void;
}

/** The newest Debian PostgreSQL's bin directory, or null when the package is not installed. */
export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0]!, 'bin') : null;
}

/**
 * Starts one (about 2 s). Throws naming the package when PostgreSQL is not installed. `onSignals` (tests): a SIGTERM
 * or SIGINT stops it and exits; the lab leaves signals to its own abort, which tears down and calls destroy().
 * `durable` (bench/hq): fsync and full page writes on, as a production server runs; default off.
 */
export function startTestPostgres(o: { onSignals?: boolean; durable?: boolean } = {}): TestPostgres {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): run ROAMLINK_SETUP_TESTS=1 bash deploy/setup.sh (Debian package postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'rl-pg-'));
  const data = join(dir, 'data');
  const root = process.getuid?.() === 0;
  let uid = -1;
  if (root) {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const as = (argv: string[]) => (root ? ['runuser', '-u', 'postgres', '--', ...argv] : argv);
  const run = (argv: string[]) => {
    const [cmd, ...args] = as(argv);
    execFileSync(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  };
  let running = false;
  const start = () => {
    // No TCP at all (listen_addresses ''): only the socket in our directory. fsync off unless durable: test data need
    // not survive a crash.
    const sync = o.durable ? '' : ' -c fsync=off -c full_page_writes=off';
    run([join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', `-c listen_addresses='' -k ${dir}${sync}`, 'start']);
    running = true;
  };
  const stop = () => {
    if (!running) return;
    running = false;
    try {
      run([join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
    } catch {
      run([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop']);
    }
  };
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    process.removeListener('exit', destroy);
    try {
      stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', destroy);
  // A test run ended by a signal (a timeout's SIGTERM, Ctrl-C) stops it too: 'exit' alone does not run then.
  if (o.onSignals !== false) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        destroy();
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
    }
  }
  try {
    run([join(bin, 'initdb'), '-D', data, '-U', 'roamlink', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    start();
  } catch (err) {
    destroy();
    throw err;
  }
  const url = (db: string) => `postgres://roamlink@localhost/${db}?host=${encodeURIComponent(dir)}`;
  return {
    dir,
    url,
    stop,
    start,
    destroy,
    async createDatabase(name: string) {
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
  };
}
