/** Exit codes shared by every subcommand (ARCHITECTURE.md §4). */
export const ExitCode = {
  ok: 0,
  assertFailed: 1,
  badInput: 2,
  environmentMissing: 3,
  untrustworthy: 4,
  /** A bug: an error no check anticipated ("internal error, please report"). */
  internal: 70,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Every error code the project raises, with its exit code and what it means (docs/formats.md lists
 * them, and a test holds the two together). `OrbitflowError` takes its exit code from here.
 */
export const ERROR_CODES = {
  OF_CLI_OPTION: [ExitCode.badInput, 'a command-line option has a bad value or conflicts with another'],
  OF_CORE_MODEL: [ExitCode.badInput, '--model names no catalogued model and no readable config.json'],
  OF_CORE_MODEL_CONFIG: [ExitCode.badInput, "a Hugging Face config.json lacks or has a bad field"],
  OF_COST_FIT_MODEL: [ExitCode.badInput, "the profile's decode fit is for another model shape than --model"],
  OF_COST_PREFILL: [ExitCode.badInput, 'the profile has no usable prefill figures for this model'],
  OF_COST_TP: [ExitCode.badInput, '--tp does not divide the model (heads, KV heads)'],
  OF_ENGINE_LISTEN: [ExitCode.badInput, 'the engine cannot listen on --host/--port'],
  OF_FROM_RUN: [ExitCode.badInput, 'profile --from-run: the run cannot be fitted (too few samples, errors only, no per-chunk times)'],
  OF_OUT_DIR: [ExitCode.badInput, '--out or --report cannot be created or written (or --report is a directory)'],
  OF_PLAN_AGAINST: [ExitCode.badInput, 'plan --against: the replay directory does not match the trace options'],
  OF_PLAN_BATCH: [ExitCode.badInput, 'a --batch file has a bad line or field'],
  OF_PLAN_BATCH_READ: [ExitCode.badInput, 'a --batch file cannot be read'],
  OF_PLAN_INFEASIBLE: [ExitCode.badInput, 'the batch does not fit the GPU budget even fully offloaded'],
  OF_PLAN_OUT: [ExitCode.badInput, 'plan --out cannot be written'],
  OF_PLAN_TRACE_EMPTY: [ExitCode.badInput, 'plan --trace: no requests after the window, limit and filters'],
  OF_PLAN_TRACE_FAILED: [ExitCode.internal, 'plan --trace: no policy could be simulated (a bug: please report it)'],
  OF_PROFILE_ARCH: [ExitCode.environmentMissing, "nvcc cannot build for this GPU's architecture"],
  OF_PROFILE_BUILD: [ExitCode.environmentMissing, 'the CUDA probe did not compile'],
  OF_PROFILE_FIELD: [ExitCode.badInput, 'a profile file has a missing or bad field'],
  OF_PROFILE_GPU_TOO_OLD: [ExitCode.environmentMissing, 'the GPU is older than Ampere (compute capability 8.0)'],
  OF_PROFILE_JSON: [ExitCode.badInput, 'a profile file is not valid JSON'],
  OF_PROFILE_NO_DEVICE: [ExitCode.environmentMissing, 'nvidia-smi sees no GPU'],
  OF_PROFILE_NO_DRIVER: [ExitCode.environmentMissing, 'no NVIDIA driver (nvidia-smi missing or failing)'],
  OF_PROFILE_NO_NVCC: [ExitCode.environmentMissing, 'no nvcc to build the probe with'],
  OF_PROFILE_NVCC: [ExitCode.environmentMissing, 'nvcc cannot be run'],
  OF_PROFILE_OUT: [ExitCode.badInput, 'profile --out cannot be written'],
  OF_PROFILE_PROBE_CRASH: [ExitCode.untrustworthy, 'the probe crashed or printed no result'],
  OF_PROFILE_PROBE_DRIVER: [ExitCode.environmentMissing, "the probe's CUDA runtime needs a newer driver than the one installed"],
  OF_PROFILE_PROBE_GPU: [ExitCode.environmentMissing, 'the probe cannot use the GPU (busy, no device, not permitted)'],
  OF_PROFILE_PROBE_USAGE: [ExitCode.badInput, 'the probe rejected its arguments'],
  OF_PROFILE_PROBE_CHECK: [ExitCode.untrustworthy, "the probe's correctness check failed; no profile was written"],
  OF_PROFILE_PROBE_FAILED: [ExitCode.untrustworthy, 'the probe reported a CUDA error'],
  OF_PROFILE_PROBE_EXEC: [ExitCode.environmentMissing, 'the built probe cannot be started'],
  OF_PROFILE_PROBE_FIELD: [ExitCode.badInput, 'a probe output (--probe-output) has a missing or bad field'],
  OF_PROFILE_PROBE_JSON: [ExitCode.badInput, 'a probe output is not valid JSON'],
  OF_PROFILE_PROBE_MODEL: [ExitCode.badInput, 'a probe output was measured for another model than --model'],
  OF_PROFILE_PROBE_OUTPUT: [ExitCode.untrustworthy, "the probe's measurements are implausible; no profile was written"],
  OF_PROFILE_PROBE_READ: [ExitCode.badInput, 'a probe output cannot be read'],
  OF_PROFILE_PROBE_SOURCES: [ExitCode.environmentMissing, "the probe's CUDA sources are not where the package put them"],
  OF_PROFILE_READ: [ExitCode.badInput, 'a profile file cannot be read'],
  OF_PROFILE_TIMEOUT: [ExitCode.untrustworthy, 'the probe ran past its time limit'],
  OF_PROFILE_WRITE: [ExitCode.badInput, 'the profile cannot be written'],
  OF_MERGE: [ExitCode.badInput, 'orbitflow merge: the directories are not every shard of one replay (another trace, seeds or options; a shard missing or twice)'],
  OF_REPLAY_CONTROLLER: [ExitCode.environmentMissing, '--controller on, but the endpoint does not speak the control protocol or there is nothing to plan with'],
  OF_REPLAY_INTERRUPTED: [ExitCode.interrupted, 'replay --workers: interrupted before every worker had started; nothing was measured'],
  OF_REPLAY_LATE_START: [ExitCode.badInput, 'replay --start-at: the share was ready only after the start instant; nothing was sent'],
  OF_REPLAY_OUT: [ExitCode.badInput, 'replay --out is a file or cannot be created'],
  OF_REPLAY_REDIRECT: [ExitCode.badInput, 'the endpoint answered with a redirect (never followed)'],
  OF_REPLAY_UNREACHABLE: [ExitCode.environmentMissing, 'the endpoint cannot be reached'],
  OF_REPLAY_WORKER: [ExitCode.internal, 'replay --workers: a worker thread failed (a bug: please report it)'],
  OF_REPORT_ASSETS: [ExitCode.environmentMissing, '--report: the charting library (the uplot package) is missing from the installation'],
  OF_REPORT_WRITE: [ExitCode.badInput, 'the HTML report cannot be written at the end of the run'],
  OF_RUN_DIR: [ExitCode.badInput, 'a directory is not a replay --out directory'],
  OF_RUN_FILE: [ExitCode.badInput, 'a run given to merge or compare is missing or is not a replay result (nor a vLLM result file)'],
  OF_RUN_DIR_JSON: [ExitCode.badInput, "a replay's result.json is not valid JSON"],
  OF_RUN_DIR_LINE: [ExitCode.badInput, "a replay's requests.jsonl has a bad line"],
  OF_RUN_DIR_REQUESTS: [ExitCode.badInput, "a replay's requests.jsonl cannot be read"],
  OF_RUN_DIR_RESULT: [ExitCode.badInput, "a replay's result.json cannot be read"],
  OF_TRACE_CSV: [ExitCode.badInput, 'a CSV trace row cannot be parsed'],
  OF_TRACE_FIELD: [ExitCode.badInput, 'a trace row has a missing or out-of-bounds field'],
  OF_TRACE_FILE: [ExitCode.badInput, 'a trace file cannot be read (missing, not a regular file, too large)'],
  OF_TRACE_FORMAT: [ExitCode.badInput, "a trace's format cannot be detected or is not the one given"],
  OF_TRACE_HEADER: [ExitCode.badInput, 'a CSV trace header lacks a needed column'],
  OF_TRACE_JSON: [ExitCode.badInput, 'a JSON trace line is not valid JSON'],
  OF_TRACE_LINE: [ExitCode.badInput, 'a trace line is not an object of the expected shape'],
  OF_TRACE_ORDER: [ExitCode.badInput, "a trace's timestamps go backwards"],
} as const satisfies Record<string, readonly [ExitCodeValue, string]>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function exitCodeOf(code: ErrorCode): ExitCodeValue {
  return ERROR_CODES[code][0];
}

export interface ErrorContext {
  file?: string;
  line?: number;
  field?: string;
  endpoint?: string;
  option?: string;
}

const BRAND = Symbol.for('orbitflow.error');

/**
 * The one error type of the project. The innermost code that knows the category sets the exit
 * code; `main()` is the only place that turns it into a process exit.
 */
export class OrbitflowError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  readonly context: ErrorContext;
  readonly [BRAND] = true;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; context?: ErrorContext; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OrbitflowError';
    this.code = code;
    this.exitCode = exitCodeOf(code);
    this.hint = opts.hint;
    this.context = opts.context ?? {};
  }

  static is(err: unknown): err is OrbitflowError {
    return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Bad input in a file: the message always starts with `file:line:` (or `file:`) and names the field. */
export function inputError(code: ErrorCode, file: string, line: number | undefined, field: string, what: string): OrbitflowError {
  const where = line === undefined ? `${file}` : `${file}:${line}`;
  return new OrbitflowError(code, `${where}: ${field}: ${what}`, { context: { file, line, field } });
}

/** Bad value of a command-line option. */
export function usageError(option: string, what: string, hint?: string): OrbitflowError {
  return new OrbitflowError('OF_CLI_OPTION', `${option}: ${what}`, { hint, context: { option } });
}
