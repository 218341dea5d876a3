import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { OrbitflowError } from './errors.js';

/**
 * Output directories and files: checked and created before a run starts, written atomically
 * (a temp file renamed into place) so an output is either whole or absent, never cut short.
 */

function outError(option: string, dir: string, what: string, cause?: unknown): OrbitflowError {
  return new OrbitflowError('OF_OUT_DIR', `${option} ${dir}: ${what}`, { context: { file: dir, option }, cause });
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message;
}

/**
 * Makes `dir` (and missing parents) and proves it writable, or throws exit 2 naming it. Parents
 * are created one at a time: `mkdir -p` in Node loops forever where the kernel answers ENOENT for
 * an existing parent (`/proc/x`).
 */
export function prepareOutputDir(dir: string, option: string): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw outError(option, dir, `cannot use ${at} (${errnoText(e)})`, e);
      missing.push(at);
      const up = dirname(at);
      if (up === at) throw outError(option, dir, 'no existing parent directory');
      at = up;
      continue;
    }
    if (!isDir) throw outError(option, dir, at === abs ? 'exists and is not a directory' : `${at} is not a directory`);
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw outError(option, dir, `cannot create ${d} (${errnoText(e)})`, e);
    }
  }
  const probe = join(abs, `.orbitflow-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw outError(option, dir, `cannot write there (${errnoText(e)})`, e);
  }
}

/**
 * Checks an output FILE before a run: its directory is made and proven writable (as with
 * prepareOutputDir), and the path itself is not a directory or anything but a regular file.
 * Nothing is written to `file` itself until the run's end (atomically).
 */
export function prepareOutputFile(file: string, option: string): void {
  const abs = resolve(file);
  if (file === '' || file.endsWith('/')) throw outError(option, file, 'expected a file name, got a directory');
  let st;
  try {
    st = statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw outError(option, file, 'a parent of it is not a directory', e);
    if (code !== 'ENOENT') throw outError(option, file, `cannot use it (${errnoText(e)})`, e);
  }
  if (st?.isDirectory()) throw outError(option, file, 'is a directory (give a file name, e.g. report.html)');
  if (st && !st.isFile()) throw outError(option, file, 'exists and is not a regular file');
  prepareOutputDir(dirname(abs), option);
}

/** Temp files being written now: removed by `removeUnfinishedSync()` when the process must stop mid-write. */
const unfinished = new Set<string>();

/**
 * Writes `path` atomically: the pieces go to a temp file beside it, which is renamed over `path`
 * once complete. On any failure the temp file is removed and `path` is left as it was.
 */
export async function writeFileAtomic(path: string, pieces: string | Iterable<string>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  unfinished.add(tmp);
  try {
    const fh = await open(tmp, 'w');
    try {
      if (typeof pieces === 'string') await fh.write(pieces);
      else {
        // Batched: one write per MiB, not per line.
        let batch = '';
        for (const p of pieces) {
          batch += p;
          if (batch.length > 1 << 20) {
            await fh.write(batch);
            batch = '';
          }
        }
        if (batch) await fh.write(batch);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  } finally {
    unfinished.delete(tmp);
  }
}

/** For an exit in the middle of a write: the finished outputs stay, half-written temp files go. */
export function removeUnfinishedSync(): void {
  for (const tmp of unfinished) {
    try {
      unlinkSync(tmp);
    } catch {
      // Already renamed or never created.
    }
  }
  unfinished.clear();
}
