import { Option, type Command } from 'commander';
import { collect } from './parse-options.js';

/**
 * One option of a subcommand, defined once: its flags, help text, parser, default and choices.
 * A subcommand's table registers its commander options and types its parsed options object
 * (`OptionsOf`), so neither is written twice and no option needs a cast.
 */
export interface OptionSpec<T, HasDefault extends boolean = boolean> {
  readonly flags: string;
  readonly help: string;
  readonly parse?: (value: string, previous: T) => T;
  readonly default?: T;
  /** How the default shows in --help, when the value itself does not read well. */
  readonly defaultText?: string;
  readonly choices?: readonly string[];
  /** Attributes of options this one cannot be given with (commander says so, exit 2). */
  readonly conflicts?: readonly string[];
  /** Phantom marker: whether the parsed value can be undefined. */
  readonly hasDefault?: HasDefault;
}

type Extra<T> = { parse?: (value: string, previous: T) => T; choices?: readonly string[]; defaultText?: string; conflicts?: readonly string[] };

/** An option with a value that is absent unless given. */
export function optional(flags: string, help: string): OptionSpec<string, false>;
export function optional<T>(flags: string, help: string, extra: Extra<T>): OptionSpec<T, false>;
export function optional<T>(flags: string, help: string, extra?: Extra<T>): OptionSpec<T, false> {
  return { flags, help, ...extra };
}

/** An option with a default: its value is always there. */
export function withDefault<T>(flags: string, help: string, value: T, extra?: Extra<T>): OptionSpec<T, true> {
  return { flags, help, default: value, ...extra };
}

/** A boolean switch, false unless given. */
export function flag(flags: string, help: string): OptionSpec<boolean, true> {
  return { flags, help, default: false };
}

/** A `--no-x` switch: true unless given. */
export function negatable(flags: `--no-${string}`, help: string): OptionSpec<boolean, true> {
  return { flags, help, default: true };
}

/** A repeatable option (`--assert A --assert B`): every value, in order; absent when never given. */
export function repeatable(flags: string, help: string): OptionSpec<string[], false> {
  return { flags, help, parse: collect };
}

/** A variadic option (`--goodput ttft:5 tpot:9`): the values after it, up to the next option. */
export function variadic(flags: `${string}...>`, help: string): OptionSpec<string[], false> {
  return { flags, help };
}

export type OptionTable = Record<string, OptionSpec<any, boolean>>;

/** The typed options object commander produces from a table. */
export type OptionsOf<T extends OptionTable> = {
  readonly [K in keyof T]: T[K] extends OptionSpec<infer V, true> ? V : T[K] extends OptionSpec<infer V, false> ? V | undefined : never;
};

/** The attribute commander stores a long flag under (`--gpu-kv-gib` → `gpuKvGib`, `--no-scrape` → `scrape`). */
export function attributeOf(flags: string): string {
  const long = /--(?:no-)?([a-z0-9-]+)/i.exec(flags);
  if (!long) throw new Error(`option '${flags}' has no long flag`);
  return long[1].replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Register every option of the table on the command; a key that is not its flag's attribute is a bug. */
export function addOptionTable(cmd: Command, table: OptionTable): Command {
  for (const [key, spec] of Object.entries(table)) {
    if (attributeOf(spec.flags) !== key) throw new Error(`option table: key '${key}' does not match ${spec.flags}`);
    const o = new Option(spec.flags, spec.help);
    if (spec.choices) o.choices([...spec.choices]);
    if (spec.conflicts) o.conflicts([...spec.conflicts]);
    if (spec.parse) o.argParser(spec.parse as (value: string, previous: unknown) => unknown);
    if (spec.default !== undefined) o.default(spec.default, spec.defaultText);
    cmd.addOption(o);
  }
  return cmd;
}

/** The options object of a command line that gave none of the table's options: every default, the rest undefined. */
export function defaultsOf<T extends OptionTable>(table: T): OptionsOf<T> {
  return Object.fromEntries(Object.entries(table).map(([key, spec]) => [key, spec.default])) as OptionsOf<T>;
}
