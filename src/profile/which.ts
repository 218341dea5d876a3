import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Look an executable up in PATH-style directories; report every path tried (for error messages). */
export function findOnPath(name: string, pathEnv: string | undefined): { found: string | null; tried: string[] } {
  const tried: string[] = [];
  for (const dir of new Set((pathEnv ?? '').split(delimiter))) {
    if (!dir) continue;
    const candidate = join(dir, name);
    tried.push(candidate);
    if (isExecutable(candidate)) return { found: candidate, tried };
  }
  return { found: null, tried };
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
