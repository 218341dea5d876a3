import { join } from 'node:path';
import { findOnPath, isExecutable } from './which.js';

/**
 * Where nvcc is: --nvcc if given (and only it: a wrong explicit path is reported, not worked
 * around), else $CUDA_HOME/bin, $CUDA_PATH/bin, each PATH directory, /usr/local/cuda/bin.
 */
export function findNvcc(explicit: string | undefined, env: NodeJS.ProcessEnv): { found: string | null; tried: string[] } {
  if (explicit) return { found: isExecutable(explicit) ? explicit : null, tried: [explicit] };
  const tried: string[] = [];
  for (const home of [env.CUDA_HOME, env.CUDA_PATH]) {
    if (!home) continue;
    const p = join(home, 'bin', 'nvcc');
    tried.push(p);
    if (isExecutable(p)) return { found: p, tried };
  }
  const onPath = findOnPath('nvcc', env.PATH);
  tried.push(...onPath.tried);
  if (onPath.found) return { found: onPath.found, tried };
  const fallback = '/usr/local/cuda/bin/nvcc';
  if (!tried.includes(fallback)) {
    tried.push(fallback);
    if (isExecutable(fallback)) return { found: fallback, tried };
  }
  return { found: null, tried };
}
