import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An H100's answer to `nvidia-smi --query-gpu=name,memory.total,driver_version,pcie.link.gen.max,pcie.link.width.max,pci.bus_id`. */
export const H100_SMI_LINE = 'NVIDIA H100 80GB HBM3, 81559 MiB, 580.65.06, 5, 16, 00000000:19:00.0';

export type SmiBehaviour =
  | { kind: 'ok'; line?: string; computeCap?: string | null }
  | { kind: 'fail'; message: string; code: number };

/**
 * Writes an executable stand-in for nvidia-smi (a /bin/sh script) and returns its path. It answers
 * the two queries `orbitflow profile` makes; `computeCap: null` acts like an old driver that does
 * not know the compute_cap field.
 */
export function fakeNvidiaSmi(dir: string, b: SmiBehaviour): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'nvidia-smi');
  let body: string;
  if (b.kind === 'fail') {
    // The message goes through a file: driver messages carry quotes ("couldn't").
    writeFileSync(`${file}.message`, `${b.message}\n`);
    body = `cat '${file}.message'\nexit ${b.code}\n`;
  } else {
    const cc = b.computeCap === undefined ? '9.0' : b.computeCap;
    body = [
      'case "$*" in',
      `  *compute_cap*) ${cc === null ? `echo 'Field "compute_cap" is not a valid field to query.' >&2; exit 2` : `echo '${cc}'`} ;;`,
      `  *) echo '${b.line ?? H100_SMI_LINE}' ;;`,
      'esac',
      '',
    ].join('\n');
  }
  writeFileSync(file, `#!/bin/sh\n${body}`);
  chmodSync(file, 0o755);
  return file;
}

/** An executable file that does nothing (a stand-in found by path searches). */
export function fakeExecutable(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, 0o755);
  return file;
}
