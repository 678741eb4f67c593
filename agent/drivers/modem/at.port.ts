// Opens a serial device (a USB modem's AT port, or the lab's pseudo-terminal) as an AtPort.
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import type { AtPort } from './at.engine.js';

export class DeviceError extends Error {
  constructor(readonly device: string, message: string) {
    super(`${device}: ${message}`);
    this.name = 'DeviceError';
  }
}

/** Whether the device node exists (a USB modem's path vanishes when it is unplugged or resets). */
export function devicePresent(path: string): boolean {
  return existsSync(path);
}

/**
 * Opens `path` at `baudRate` (ignored by USB CDC and pseudo-terminals). Rejects with a DeviceError when the
 * path is missing or cannot be opened; the returned port reports `onClose` once, on close or unplug.
 */
export async function openSerialPort(path: string, opts: { baudRate?: number; signal?: AbortSignal } = {}): Promise<AtPort> {
  if (!devicePresent(path)) throw new DeviceError(path, 'no such device');
  const sp = new SerialPort({ path, baudRate: opts.baudRate ?? 115200, autoOpen: false, hupcl: false });
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new DeviceError(path, 'open aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    sp.open((err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(new DeviceError(path, err.message.replace(/^Error:\s*/, '')));
      else resolve();
    });
  }).catch((err) => {
    if (sp.isOpen) sp.close(() => undefined);
    throw err;
  });
  const closeListeners: Array<(err?: Error) => void> = [];
  let closed = false;
  const fire = (err?: Error) => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners) l(err);
  };
  sp.on('close', (err?: Error) => fire(err ?? undefined));
  // The device node vanishing is the unplug itself (udev removes it; the lab's emulator removes its link). The
  // hangup it causes on the open descriptor is not always reported by the serial library's poller (seen on
  // pseudo-terminals under load: no close for seconds), so the path is watched too. Cheap: one stat a quarter second.
  const watch = setInterval(() => {
    if (closed || devicePresent(path)) return;
    fire(new DeviceError(path, 'device went away'));
    if (sp.isOpen) sp.close(() => undefined);
  }, 250);
  watch.unref();
  closeListeners.push(() => clearInterval(watch));
  // Errors (EIO on unplug) are followed by close; without a listener they would crash the process.
  sp.on('error', (err: Error) => {
    if (!sp.isOpen) fire(err);
  });
  return {
    write(data) {
      if (closed) throw new DeviceError(path, 'port is closed');
      sp.write(Buffer.from(data, 'latin1'), (err) => {
        if (err) {
          fire(err);
          if (sp.isOpen) sp.close(() => undefined);
        }
      });
    },
    onData(listener) {
      sp.on('data', listener);
    },
    onClose(listener) {
      if (closed) queueMicrotask(() => listener());
      else closeListeners.push(listener);
    },
    close() {
      return new Promise<void>((resolve) => {
        if (!sp.isOpen) {
          fire();
          return resolve();
        }
        sp.close(() => {
          fire();
          resolve();
        });
      });
    },
  };
}
