import { execa } from 'execa';
import { OrbitflowError, type ErrorCode } from '../core/errors.js';

/** One `{"progress": …}` line of the probe's stderr. */
export interface ProbeProgress {
  stage: string;
  step: number;
  steps: number;
  what: string;
}

/** The probe's `{"error": …}` document (src/profile/probe/common.cuh `failWith`). */
export interface ProbeErrorDoc {
  code: string;
  message: string;
  call?: string;
  hint?: string;
  runtime_version?: number;
  driver_version?: number;
}

export interface RunProbeOptions {
  binary: string;
  args: readonly string[];
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  onProgress?: (p: ProbeProgress) => void;
  /** Any other stderr line. */
  onLog?: (line: string) => void;
  /** Receives a function that stops the probe (for SIGINT). */
  onStart?: (stop: () => void) => void;
  /** The NVIDIA driver release nvidia-smi reported, for messages. */
  driverRelease?: string | null;
}

const ENVIRONMENT_CODES = new Set([
  'cudaErrorInsufficientDriver',
  'cudaErrorCallRequiresNewerDriver',
  'cudaErrorNoDevice',
  'cudaErrorInvalidDevice',
  'cudaErrorNoKernelImageForDevice',
  'cudaErrorUnsupportedPtxVersion',
  'cudaErrorDevicesUnavailable',
  'cudaErrorSystemDriverMismatch',
  'cudaErrorCompatNotSupportedOnDevice',
]);

/** "13000" → "13.0" (the CUDA API version encoding). */
export function cudaVersionString(v: number | undefined): string | null {
  if (!v) return null;
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

/** The probe's error document as the one error orbitflow reports, with the exit code of its kind. */
export function probeError(doc: ProbeErrorDoc, driverRelease?: string | null): OrbitflowError {
  const runtime = cudaVersionString(doc.runtime_version);
  const driverApi = cudaVersionString(doc.driver_version);
  let message: string;
  let code: ErrorCode;
  if (doc.code === 'cudaErrorInsufficientDriver' || doc.code === 'cudaErrorCallRequiresNewerDriver') {
    code = 'OF_PROFILE_PROBE_DRIVER';
    const have = driverApi
      ? `the installed driver${driverRelease ? ` (${driverRelease})` : ''} supports CUDA ${driverApi}`
      : 'no CUDA driver library (libcuda.so) could be loaded';
    message = `no usable NVIDIA driver for the probe: ${doc.code} (${doc.message}); the probe's runtime is CUDA ${runtime ?? '?'}, ${have}`;
  } else if (ENVIRONMENT_CODES.has(doc.code)) {
    code = 'OF_PROFILE_PROBE_GPU';
    message = `the probe cannot use the GPU: ${doc.code} (${doc.message})`;
  } else if (doc.code === 'usage') {
    code = 'OF_PROFILE_PROBE_USAGE';
    message = `the probe rejected its arguments: ${doc.message}`;
  } else if (doc.code === 'selfcheck_failed' || doc.code === 'kv_copy_mismatch') {
    code = 'OF_PROFILE_PROBE_CHECK';
    message = `the probe's correctness check failed (${doc.code}): ${doc.message}; no profile was written`;
  } else {
    code = 'OF_PROFILE_PROBE_FAILED';
    message = `the probe failed: ${doc.code} (${doc.message})${doc.call ? ` at ${doc.call}` : ''}`;
  }
  return new OrbitflowError(code, message, { hint: doc.hint || undefined });
}

/** Pull the error document out of probe stdout, if that is what it printed. */
export function probeErrorDoc(stdout: string): ProbeErrorDoc | null {
  try {
    const parsed = JSON.parse(stdout) as { error?: ProbeErrorDoc };
    return parsed && typeof parsed === 'object' && parsed.error && typeof parsed.error.code === 'string' ? parsed.error : null;
  } catch {
    return null;
  }
}

/**
 * Run the probe: progress lines from stderr as they come, the JSON document from stdout at the
 * end. Returns stdout's text on success; throws the probe's error (or a timeout / crash) otherwise.
 */
export async function runProbe(o: RunProbeOptions): Promise<string> {
  const child = execa(o.binary, [...o.args], { reject: false, timeout: o.timeoutMs, env: o.env, extendEnv: false, stdin: 'ignore' });
  o.onStart?.(() => child.kill('SIGTERM'));
  let pending = '';
  const tail: string[] = [];
  const onLine = (line: string): void => {
    if (line.startsWith('{"progress":')) {
      try {
        o.onProgress?.((JSON.parse(line) as { progress: ProbeProgress }).progress);
        return;
      } catch {
        // a truncated progress line is just a log line
      }
    }
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    o.onLog?.(line);
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  const r = await child;
  if (pending) onLine(pending);
  const stdout = String(r.stdout ?? '');
  if (r.timedOut) {
    throw new OrbitflowError('OF_PROFILE_TIMEOUT', `the probe did not finish within ${Math.round(o.timeoutMs / 1000)} s`, {
      hint: 'raise --timeout-s, or use --quick',
    });
  }
  if (r.code === 'ENOENT' || r.code === 'EACCES') {
    throw new OrbitflowError('OF_PROFILE_PROBE_EXEC', `cannot run the probe ${o.binary}: ${r.code}`, { hint: 'rerun with --rebuild' });
  }
  const doc = probeErrorDoc(stdout);
  if (doc) throw probeError(doc, o.driverRelease);
  if (r.failed) {
    const why = r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
    throw new OrbitflowError('OF_PROFILE_PROBE_CRASH', `the probe stopped without a result (${why})${tail.length ? `: ${tail.slice(-3).join(' | ')}` : ''}`, {
    });
  }
  return stdout;
}
