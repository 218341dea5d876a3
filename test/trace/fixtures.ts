import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp dir for trace fixtures written by the tests; `cleanup()` removes it. */
export function fixtureDir(): { write(name: string, content: string): string; cleanup(): void; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'orbitflow-trace-'));
  return {
    dir,
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const AZURE_HEADER = 'TIMESTAMP,ContextTokens,GeneratedTokens';

/** Azure 2023-style CSV text: CRLF, no final newline. */
export function azureCsv(rows: readonly string[]): string {
  return [AZURE_HEADER, ...rows].join('\r\n');
}

export function isInputError(message: RegExp | string) {
  return (err: unknown): boolean => {
    const e = err as { exitCode?: number; message?: string; name?: string };
    if (e.name !== 'OrbitflowError') throw err;
    if (typeof message === 'string') {
      if (e.message !== message) throw new Error(`expected message\n  ${message}\ngot\n  ${e.message}`);
    } else if (!message.test(e.message ?? '')) throw new Error(`expected message matching ${message}, got ${e.message}`);
    if (e.exitCode !== 2) throw new Error(`expected exit code 2, got ${e.exitCode}`);
    return true;
  };
}
