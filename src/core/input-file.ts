import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { OrbitflowError, type ErrorCode } from './errors.js';
import { MIB } from './units.js';

/**
 * The one gate every file orbitflow reads passes: a regular file (never a FIFO, a device, a
 * socket or a directory), readable, and for files read whole, no larger than a cap. The file is
 * opened non-blocking and checked on the open descriptor, so a FIFO neither blocks the open nor
 * slips in between a check and the read.
 */

/** Cap of the small inputs read whole (profiles, batch files, model configs). */
export const MAX_INPUT_FILE_BYTES = 64 * MIB;

export interface InputFileOptions {
  /** What the file is, for the message: `profile`, `batch file`, `trace`, … */
  what: string;
  /** Error code of the OrbitflowError (exit 2). */
  code: ErrorCode;
  /** Largest file accepted; default MAX_INPUT_FILE_BYTES. Infinity for streamed files. */
  maxBytes?: number;
}

/** `FILE: cannot read WHAT: REASON`, exit 2. */
function fileError(file: string, o: InputFileOptions, reason: string): OrbitflowError {
  return new OrbitflowError(o.code, `${file}: cannot read ${o.what}: ${reason}`, { context: { file } });
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

function openError(file: string, o: InputFileOptions, err: NodeJS.ErrnoException): OrbitflowError {
  const code = err.code ?? '';
  const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'a directory, not a regular file' : code || err.message;
  return fileError(file, o, reason);
}

/** Opens `file` for reading after the checks; the caller closes the descriptor. */
export function openInputFile(file: string, o: InputFileOptions): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw openError(file, o, err as NodeJS.ErrnoException);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fileError(file, o, `${kindOf(st)}, not a regular file`);
    const max = o.maxBytes ?? MAX_INPUT_FILE_BYTES;
    if (st.size > max) throw fileError(file, o, `${(st.size / MIB).toFixed(1)} MiB, over the ${(max / MIB).toFixed(0)} MiB limit`);
    return { fd, size: st.size };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Checks `file` like `openInputFile` (no size cap unless given) and returns its size. */
export function checkInputFile(file: string, o: InputFileOptions): number {
  const { fd, size } = openInputFile(file, { maxBytes: Infinity, ...o });
  closeSync(fd);
  return size;
}

/**
 * A whole small text file, UTF-8, a leading byte-order mark dropped. The read stops at the cap
 * even when the size on disk says less (files under /proc report 0).
 */
export function readInputFile(file: string, o: InputFileOptions): string {
  const max = o.maxBytes ?? MAX_INPUT_FILE_BYTES;
  const { fd } = openInputFile(file, o);
  try {
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 * MIB, max + 1 - total));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        throw fileError(file, o, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
      }
      if (n === 0) break;
      parts.push(buf.subarray(0, n));
      total += n;
      if (total > max) throw fileError(file, o, `over the ${(max / MIB).toFixed(0)} MiB limit`);
    }
    return stripBom(Buffer.concat(parts, total).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

/** Text without a leading UTF-8 byte-order mark. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
