import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { findOnPath, isExecutable } from './which.js';

/** What nvidia-smi says about one GPU. */
export interface SmiGpu {
  name: string;
  memoryBytes: number | null;
  driverVersion: string | null;
  pcieGenMax: number | null;
  pcieWidthMax: number | null;
  pciBusId: string | null;
  /** "9.0"; null where the driver's nvidia-smi cannot report it. */
  computeCapability: string | null;
}

export const SMI_FIELDS = 'name,memory.total,driver_version,pcie.link.gen.max,pcie.link.width.max,pci.bus_id';

export type GpuCheck =
  | { kind: 'ok'; smi: string; gpu: SmiGpu; numaNode: number | null }
  /** nvidia-smi is not installed; `driverLoaded` says whether the kernel module is there anyway (`driverFile` exists). */
  | { kind: 'no-smi'; tried: string[]; driverLoaded: boolean; driverFile: string }
  /** nvidia-smi ran and failed (typically: it cannot talk to the driver). */
  | { kind: 'smi-failed'; smi: string; exitCode: number | null; message: string }
  | { kind: 'no-device'; smi: string; message: string };

const missing = (v: string): boolean => v === '' || /^\[(N\/A|Not Supported|Unknown Error|Insufficient Permissions)\]$/i.test(v) || v === 'N/A';

function intOrNull(v: string): number | null {
  if (missing(v)) return null;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : null;
}

/** One line of `nvidia-smi --query-gpu=<SMI_FIELDS> --format=csv,noheader`. */
export function parseSmiLine(line: string): SmiGpu {
  const f = line.split(',').map((s) => s.trim());
  if (f.length < 6) throw new RangeError(`nvidia-smi: expected 6 fields, got ${f.length}: '${line}'`);
  // memory.total reads "81559 MiB" (or a bare number with nounits).
  const mem = /^(\d+(?:\.\d+)?)\s*(MiB|GiB|KiB)?$/i.exec(f[1]);
  const unit = (mem?.[2] ?? 'MiB').toLowerCase();
  const memoryBytes = mem ? Number(mem[1]) * (unit === 'gib' ? 2 ** 30 : unit === 'kib' ? 2 ** 10 : 2 ** 20) : null;
  return {
    name: f[0],
    memoryBytes,
    driverVersion: missing(f[2]) ? null : f[2],
    pcieGenMax: intOrNull(f[3]),
    pcieWidthMax: intOrNull(f[4]),
    pciBusId: missing(f[5]) ? null : f[5],
    computeCapability: null,
  };
}

/** nvidia-smi's bus id "00000000:19:00.0" → the sysfs directory "/sys/bus/pci/devices/0000:19:00.0". */
export function sysfsDevicePath(busId: string): string | null {
  const m = /^([0-9a-f]+):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(busId.trim());
  if (!m) return null;
  const domain = m[1].slice(-4).padStart(4, '0');
  return `/sys/bus/pci/devices/${domain}:${m[2]}:${m[3]}.${m[4]}`.toLowerCase();
}

export function readNumaNode(busId: string | null): number | null {
  const dir = busId ? sysfsDevicePath(busId) : null;
  if (!dir) return null;
  try {
    const n = Number.parseInt(readFileSync(`${dir}/numa_node`, 'utf8').trim(), 10);
    return Number.isInteger(n) && n >= 0 ? n : null;
  } catch {
    return null;
  }
}

export interface GpuQueryOptions {
  device: number;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** The driver's version file: present when the NVIDIA kernel module is loaded. */
  driverProcFile?: string;
}

/**
 * Find the GPU through nvidia-smi (ORBITFLOW_NVIDIA_SMI, else PATH). Never throws for a missing or
 * failing driver: the caller turns each outcome into the message that helps most.
 */
export async function queryGpu(o: GpuQueryOptions): Promise<GpuCheck> {
  const procFile = o.driverProcFile ?? o.env.ORBITFLOW_DRIVER_PROC ?? '/proc/driver/nvidia/version';
  let smi: string | null;
  let tried: string[];
  if (o.env.ORBITFLOW_NVIDIA_SMI) {
    smi = isExecutable(o.env.ORBITFLOW_NVIDIA_SMI) ? o.env.ORBITFLOW_NVIDIA_SMI : null;
    tried = [o.env.ORBITFLOW_NVIDIA_SMI];
  } else {
    ({ found: smi, tried } = findOnPath('nvidia-smi', o.env.PATH));
  }
  if (!smi) return { kind: 'no-smi', tried, driverLoaded: existsSync(procFile), driverFile: procFile };
  const timeout = o.timeoutMs ?? 20_000;
  const r = await execa(smi, [`--query-gpu=${SMI_FIELDS}`, '--format=csv,noheader', '-i', String(o.device)], { reject: false, timeout, env: o.env, extendEnv: false });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim();
  const firstLine = text.split('\n').find((l) => l.trim() !== '') ?? `exit code ${r.exitCode ?? r.signal ?? '?'}`;
  if (/no devices were found|invalid device|unable to determine the device handle/i.test(text)) return { kind: 'no-device', smi, message: firstLine };
  if (r.failed || !r.stdout?.trim()) return { kind: 'smi-failed', smi, exitCode: r.exitCode ?? null, message: r.timedOut ? `timed out after ${timeout / 1000} s` : firstLine };
  let gpu: SmiGpu;
  try {
    gpu = parseSmiLine(String(r.stdout).trim().split('\n')[0]);
  } catch (e) {
    return { kind: 'smi-failed', smi, exitCode: r.exitCode ?? null, message: (e as Error).message };
  }
  // compute_cap is a newer query field; older drivers reject it, and then the probe is built fat.
  const cc = await execa(smi, ['--query-gpu=compute_cap', '--format=csv,noheader', '-i', String(o.device)], { reject: false, timeout, env: o.env, extendEnv: false });
  const ccText = String(cc.stdout ?? '').trim();
  if (!cc.failed && /^\d+\.\d+$/.test(ccText)) gpu.computeCapability = ccText;
  return { kind: 'ok', smi, gpu, numaNode: readNumaNode(gpu.pciBusId) };
}
