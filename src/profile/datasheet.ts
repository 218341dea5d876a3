/**
 * Dense (no sparsity) BF16/FP16 tensor-core throughput by GPU name, from NVIDIA's datasheets. Used
 * only for prefill time, and always recorded in the profile as an assumption with this source.
 * The first matching pattern wins, so specific names come before general ones.
 */
export interface DatasheetFigure {
  tflops: number;
  source: string;
}

const TABLE: readonly { pattern: RegExp; tflops: number; source: string }[] = [
  { pattern: /gh200/i, tflops: 989.4, source: 'NVIDIA GH200 Grace Hopper datasheet: BF16 1,979 TFLOPS with sparsity, 989.4 dense' },
  { pattern: /h200.*nvl/i, tflops: 835.5, source: 'NVIDIA H200 datasheet (H200 NVL): BF16 1,671 TFLOPS with sparsity, 835.5 dense' },
  { pattern: /h200/i, tflops: 989.4, source: 'NVIDIA H200 datasheet (H200 SXM): BF16 1,979 TFLOPS with sparsity, 989.4 dense' },
  { pattern: /h100.*nvl/i, tflops: 835.5, source: 'NVIDIA H100 datasheet (H100 NVL): BF16 1,671 TFLOPS with sparsity, 835.5 dense' },
  { pattern: /h100.*pcie/i, tflops: 756, source: 'NVIDIA H100 datasheet (H100 PCIe): BF16 1,513 TFLOPS with sparsity, 756 dense' },
  { pattern: /h100/i, tflops: 989.4, source: 'NVIDIA H100 datasheet (H100 SXM): BF16 1,979 TFLOPS with sparsity, 989.4 dense' },
  { pattern: /b200/i, tflops: 2250, source: 'NVIDIA HGX B200 datasheet: BF16 4.5 PFLOPS with sparsity per GPU, 2.25 dense' },
  { pattern: /a100/i, tflops: 312, source: 'NVIDIA A100 datasheet: BF16 Tensor Core 312 TFLOPS dense (624 with sparsity)' },
  { pattern: /l40s/i, tflops: 362.05, source: 'NVIDIA L40S datasheet: BF16 733 TFLOPS with sparsity, 362 dense' },
  { pattern: /\bl40\b/i, tflops: 181.05, source: 'NVIDIA L40 datasheet: BF16 362.1 TFLOPS with sparsity, 181 dense' },
  { pattern: /\bl4\b/i, tflops: 121, source: 'NVIDIA L4 datasheet: BF16 242 TFLOPS with sparsity, 121 dense' },
  { pattern: /\ba10\b/i, tflops: 125, source: 'NVIDIA A10 datasheet: BF16 Tensor Core 125 TFLOPS dense (250 with sparsity)' },
  { pattern: /rtx a6000/i, tflops: 154.8, source: 'NVIDIA RTX A6000 datasheet: FP16 tensor with FP32 accumulate 154.8 TFLOPS dense (309.7 with sparsity)' },
  { pattern: /rtx a5000/i, tflops: 111.1, source: 'NVIDIA RTX A5000 datasheet: FP16 tensor with FP32 accumulate 111.1 TFLOPS dense (222.2 with sparsity)' },
];

export function datasheetDenseTflops(gpuName: string): DatasheetFigure | null {
  const row = TABLE.find((r) => r.pattern.test(gpuName));
  return row ? { tflops: row.tflops, source: row.source } : null;
}
