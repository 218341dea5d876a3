import { formatBytes } from '../core/units.js';
import { TransferCurve } from '../cost/transfer-curve.js';
import { provenanceLine, type Profile, type TransferPoint } from '../core/profile-format.js';
import { sparkline } from './sparkline.js';

export interface SummaryInput {
  profile: Profile;
  file: string;
  warnings: readonly string[];
  /** Seconds the probe's sections took, when it ran here. */
  elapsedS?: Record<string, number>;
  buildNote?: string | null;
}

const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '—');
const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

function curveLine(label: string, pts: readonly TransferPoint[] | undefined): string | null {
  if (!pts || pts.length === 0) return null;
  const c = new TransferCurve(pts);
  const at = (bytes: number): string => lpad(f1(c.rateBytesPerMs(bytes) * 1000 / 2 ** 30), 7);
  const peak = Math.max(...pts.map((p) => p.gib_per_s));
  return `  ${pad(label, 13)} ${pad(sparkline(pts.map((p) => p.gib_per_s)), 20)} ${lpad(f1(peak), 7)} ${at(64 * 1024)} ${at(4 * 2 ** 20)} ${at(64 * 2 ** 20)}`;
}

/** The text summary of a profile run: what was measured, the fit, and the validation. */
export function renderSummary(s: SummaryInput): string {
  const p = s.profile;
  const g = p.provenance.gpu;
  const t = p.transfer;
  const out: string[] = [provenanceLine(p)];
  const gpuBits = [
    g.name,
    g.memory_bytes ? formatBytes(g.memory_bytes) : null,
    g.sm_count ? `${g.sm_count} SMs` : null,
    g.compute_capability ? `cc ${g.compute_capability}` : null,
    g.driver ? `driver ${g.driver}` : null,
    g.cuda ? `CUDA ${g.cuda}` : null,
    g.pcie_gen ? `PCIe gen${g.pcie_gen}${g.pcie_width ? ` x${g.pcie_width}` : ''}` : null,
    g.numa_node !== null ? `NUMA ${g.numa_node}` : null,
  ].filter(Boolean);
  out.push(`GPU       ${gpuBits.join(' · ')}`);
  const probe = p.provenance.probe;
  if (probe) {
    const secs = s.elapsedS ? Object.values(s.elapsedS).reduce((a, b) => a + b, 0) : null;
    out.push(`probe     v${probe.probe_version} ${probe.quick ? 'quick' : 'full'}${p.provenance.host ? ` on ${p.provenance.host}` : ''}${secs !== null ? ` · ${secs.toFixed(0)} s` : ''}${s.buildNote ? ` · ${s.buildNote}` : ''}`);
  }
  if (g.hbm_gib_per_s) out.push(`memory    ${f1(g.hbm_gib_per_s)} GiB/s device copy kernel (read + write)`);
  if (g.dense_tflops) out.push(`dense     ${g.dense_tflops} TFLOPS (${g.dense_tflops_source === 'probe-gemm' ? "probe's GEMM, a lower bound" : 'datasheet, assumed'}) · prefill efficiency ${p.decode.prefill_efficiency}`);

  const first = t.h2d_pinned[0]?.bytes ?? 0;
  const last = t.h2d_pinned.at(-1)?.bytes ?? 0;
  out.push('');
  out.push(`transfer  GiB/s, ${formatBytes(first)} … ${formatBytes(last)}          peak  @64 KiB  @4 MiB @64 MiB`);
  for (const [label, pts] of [['h2d pinned', t.h2d_pinned], ['d2h pinned', t.d2h_pinned], ['h2d pageable', t.h2d_pageable], ['d2h pageable', t.d2h_pageable]] as const) {
    const line = curveLine(label, pts);
    if (line) out.push(line);
  }
  for (const b of t.bidirectional_sweep ?? (t.bidirectional ? [t.bidirectional] : [])) {
    out.push(`  both ways ${formatBytes(b.bytes)}: h2d ${f1(b.h2d_gib_per_s)} + d2h ${f1(b.d2h_gib_per_s)} GiB/s`);
  }
  const lat = t.latency_detail;
  if (lat) {
    const bits = [
      lat.h2d_pinned_4k_us !== undefined ? `4 KiB h2d ${lat.h2d_pinned_4k_us.toFixed(1)} µs` : null,
      lat.d2h_pinned_4k_us !== undefined ? `d2h ${lat.d2h_pinned_4k_us.toFixed(1)} µs` : null,
      lat.batched_h2d_4k_per_copy_us !== undefined ? `per copy in a batch ${lat.batched_h2d_4k_per_copy_us.toFixed(2)} µs` : null,
      lat.h2d_pageable_4k_us !== undefined ? `pageable 4 KiB ${lat.h2d_pageable_4k_us.toFixed(1)} µs` : null,
    ].filter(Boolean);
    out.push(`  latency   ${bits.join(', ')}`);
  }

  if (t.kv_block_h2d && t.kv_block_h2d.length > 0) {
    const plain = new TransferCurve(t.h2d_pinned);
    const gather = t.kv_block_h2d_gather ?? [];
    out.push('');
    out.push(`KV-shaped H2D: one layer of one request, ${formatBytes(t.kv_block_h2d[0].block_bytes)} blocks (GiB/s)`);
    out.push(`  ${pad('bytes', 10)} ${lpad('per-block copies', 17)} ${lpad('gather kernel', 14)} ${lpad('one plain copy', 15)}`);
    for (const pt of t.kv_block_h2d) {
      const gp = gather.find((x) => x.bytes === pt.bytes);
      const pr = (plain.rateBytesPerMs(pt.bytes) * 1000) / 2 ** 30;
      out.push(`  ${pad(formatBytes(pt.bytes), 10)} ${lpad(f1(pt.gib_per_s), 17)} ${lpad(gp ? f1(gp.gib_per_s) : '—', 14)} ${lpad(f1(pr), 15)}`);
    }
  }
  const u = t.h2d_under_decode;
  if (u) {
    out.push(`  under decode: one ${formatBytes(u.bytes)} copy ${f1(u.gib_per_s)} GiB/s (alone ${f1(u.plain_gib_per_s)})` +
      (u.kv_shaped ? `; KV-shaped ${u.kv_shaped.tokens} tokens ${f1(u.kv_shaped.gib_per_s)} (alone ${f1(u.kv_shaped.plain_gib_per_s)})` : '') +
      (u.decode_kernel_ms !== undefined && u.decode_kernel_ms_under_copy !== undefined
        ? `; attention kernel ${u.decode_kernel_ms.toFixed(3)} → ${u.decode_kernel_ms_under_copy.toFixed(3)} ms beside copies`
        : ''));
  }

  const fit = p.decode.fit;
  out.push('');
  if (fit.form === 'linear') {
    const st = p.decode.fit_stats;
    out.push(`decode    per layer (${fit.model}, tp ${fit.tp}): ${fit.base_ms.toPrecision(4)} ms + ${fit.per_seq_ms.toPrecision(4)} ms·batch + ${fit.per_token_ms.toPrecision(4)} ms·Σctx`);
    out.push(`          R² ${fit.r2 === null ? '—' : fit.r2.toFixed(4)}${st ? ` over ${st.points} points, rmse ${st.rmse_ms.toPrecision(3)} ms, residuals ${st.min_residual_ms.toPrecision(3)} … ${st.max_residual_ms.toPrecision(3)} ms` : ''}`);
    const up = p.decode.upper_fit;
    if (up && up.form === 'linear') out.push(`          upper envelope: intercept ${up.base_ms.toPrecision(4)} ms (same slopes)`);
  } else {
    out.push(`decode    roofline: ${fit.hbm_gib_per_s} GiB/s × ${fit.efficiency} + ${fit.overhead_ms} ms`);
  }

  if (p.validation && p.validation.length > 0) {
    out.push('');
    out.push(`validation: decode step, predicted by the cost model from this profile (${p.validation[0].predicted_with === 'upper_fit' ? 'upper envelope' : 'fit'}) vs measured`);
    out.push(`  ${pad('placement', 20)} ${lpad('batch', 5)} ${lpad('Σctx', 8)} ${lpad('predicted', 10)} ${lpad('measured', 9)} ${lpad('error', 8)}`);
    for (const v of p.validation) {
      const err = `${v.error_pct >= 0 ? '+' : ''}${v.error_pct.toFixed(1)} %`;
      out.push(`  ${pad(v.label, 20)} ${lpad(String(v.batch), 5)} ${lpad(String(v.context_tokens), 8)} ${lpad(v.predicted_ms.toFixed(2), 10)} ${lpad(v.measured_ms.toFixed(2), 9)} ${lpad(err, 8)}`);
    }
  }
  for (const w of s.warnings) out.push(`warning: ${w}`);
  out.push('');
  out.push(`written ${s.file}`);
  return `${out.join('\n')}\n`;
}
