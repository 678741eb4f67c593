// Types for unix-dgram (native unix datagram sockets; it ships none): the part roamlink uses.
declare module 'unix-dgram' {
  import type { EventEmitter } from 'node:events';

  /** Errors carry the negative errno as `code` and `errno`, e.g. -111 for ECONNREFUSED. */
  export interface UnixDgramError extends Error {
    code?: number | string;
    errno?: number;
    syscall?: string;
  }

  export interface UnixDgramSocket extends EventEmitter {
    /** Emits 'listening' or 'error' synchronously. */
    bind(path: string): void;
    /** Emits 'connect' or 'error' synchronously. */
    connect(path: string): void;
    /** On a connected socket; the callback runs synchronously (error: errno, or 'congestion' when not sent). */
    send(buf: Buffer, callback?: (err?: UnixDgramError) => void): void;
    /** On an unconnected socket, to `path`. */
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: UnixDgramError) => void): void;
    close(): void;
    on(event: 'message', listener: (msg: Buffer, rinfo: { size: number; path?: string | null }) => void): this;
    on(event: 'error', listener: (err: UnixDgramError) => void): this;
    on(event: 'listening' | 'connect' | 'writable', listener: () => void): this;
    on(event: 'congestion', listener: (buf: Buffer) => void): this;
  }

  export function createSocket(type: 'unix_dgram', listener?: (msg: Buffer, rinfo: { size: number; path?: string | null }) => void): UnixDgramSocket;
  const unix: { createSocket: typeof createSocket };
  export default unix;
}
