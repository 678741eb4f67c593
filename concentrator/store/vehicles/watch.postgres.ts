// The registry's change feed on PostgreSQL: a connection of its own LISTENs on the channel the vehicles table's trigger
// notifies at every commit that changed it (store/postgres.ts, migration 5), whoever made the change (this HQ, the
// other concentrator, the CLI, psql). No timers: a lookup asking for the version drives reconnecting and a liveness
// ping (a connection that died silently is not trusted for longer than PING_EVERY_MS + PING_TIMEOUT_MS).
import pg from 'pg';
import type { RegistryWatch } from './callers.js';

export const REGISTRY_CHANNEL = 'roamlink_registry';
/** Shown in pg_stat_activity. */
export const WATCH_APPLICATION = 'roamlink-registry-watch';
/** A connection that broke is tried again at most this often. */
export const RETRY_MS = 1000;
/** With lookups coming, the connection is asked a `SELECT 1` this long after its last answer... */
export const PING_EVERY_MS = 2000;
/** ...and not trusted once that ping has waited this long (a dead server or a cut network without a reset). */
export const PING_TIMEOUT_MS = 2000;

export interface PostgresWatchOptions {
  /** Monotonic ms (realClock.now). */
  now?: () => number;
  connectTimeoutMs?: number;
  /** The registry changed (a notification): e.g. reconcile the peers now. */
  onChange?: () => void;
  /** The feed broke or could not start (lookups go to the database meanwhile); once until it is up again. */
  onError?: (err: Error) => void;
}

export interface PostgresRegistryWatch extends RegistryWatch {
  /** Listening now (a version is given). */
  readonly listening: boolean;
  /** Resolves once listening (or the first attempt failed). */
  ready(): Promise<void>;
}

export function postgresRegistryWatch(url: string, o: PostgresWatchOptions = {}): PostgresRegistryWatch {
  const now = o.now ?? (() => performance.now());
  let client: pg.Client | null = null;
  let listening = false;
  let version = 0;
  let connecting: Promise<void> | null = null;
  let lastTry = -Infinity;
  let lastAlive = 0;
  let pingSince: number | null = null;
  let closed = false;
  /** Told onError since the feed was last up: a database that stays down is reported once, not at every retry. */
  let reported = false;

  const drop = (c: pg.Client, err: Error) => {
    if (client !== c) return;
    client = null;
    listening = false;
    pingSince = null;
    c.end().catch(() => {});
    if (!closed && !reported) o.onError?.(err);
    reported = true;
  };

  const connect = () => {
    lastTry = now();
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: o.connectTimeoutMs ?? 5000, keepAlive: true, application_name: WATCH_APPLICATION });
    client = c;
    c.on('notification', (m) => {
      if (client !== c || m.channel !== REGISTRY_CHANNEL) return;
      version++;
      o.onChange?.();
    });
    c.on('error', (err) => drop(c, err));
    c.on('end', () => drop(c, new Error('the registry watch\'s connection ended')));
    connecting = (async () => {
      await c.connect();
      await c.query(`LISTEN ${REGISTRY_CHANNEL}`);
      if (client !== c || closed) return;
      // Whatever changed before the LISTEN took effect is unknown: a new version, so no map read before is trusted.
      version++;
      listening = true;
      reported = false;
      lastAlive = now();
    })()
      .catch((err: Error) => drop(c, err))
      .finally(() => {
        connecting = null;
      });
  };

  const ping = (c: pg.Client) => {
    pingSince = now();
    c.query('SELECT 1').then(
      () => {
        if (client !== c) return;
        pingSince = null;
        lastAlive = now();
      },
      (err: Error) => drop(c, err),
    );
  };

  connect();
  return {
    get listening() {
      return listening;
    },
    ready: async () => {
      await connecting;
    },
    version() {
      if (closed) return null;
      const t = now();
      if (!listening || !client) {
        if (!connecting && t - lastTry >= RETRY_MS) connect();
        return null;
      }
      if (pingSince !== null && t - pingSince > PING_TIMEOUT_MS) {
        drop(client, new Error(`the registry watch's connection did not answer for ${Math.round(t - pingSince)} ms`));
        return null;
      }
      if (pingSince === null && t - lastAlive >= PING_EVERY_MS) ping(client);
      return version;
    },
    close: async () => {
      closed = true;
      listening = false;
      const c = client;
      client = null;
      await connecting;
      await c?.end().catch(() => {});
    },
  };
}
