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
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  readonly context: ErrorContext;
  readonly [BRAND] = true;

  constructor(
    code: string,
    message: string,
    opts: { exitCode?: ExitCodeValue; hint?: string; context?: ErrorContext; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OrbitflowError';
    this.code = code;
    this.exitCode = opts.exitCode ?? ExitCode.badInput;
    this.hint = opts.hint;
    this.context = opts.context ?? {};
  }

  static is(err: unknown): err is OrbitflowError {
    return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Bad input in a file: the message always starts with `file:line:` (or `file:`) and names the field. */
export function inputError(code: string, file: string, line: number | undefined, field: string, what: string): OrbitflowError {
  const where = line === undefined ? `${file}` : `${file}:${line}`;
  return new OrbitflowError(code, `${where}: ${field}: ${what}`, { exitCode: ExitCode.badInput, context: { file, line, field } });
}

/** Bad value of a command-line option. */
export function usageError(option: string, what: string, hint?: string): OrbitflowError {
  return new OrbitflowError('OF_CLI_OPTION', `${option}: ${what}`, { exitCode: ExitCode.badInput, hint, context: { option } });
}
