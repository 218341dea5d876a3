/** The one request shape every trace reader yields (ARCHITECTURE.md §3). */
export interface TraceRequest {
  /** 0-based position in the (transformed) request stream. */
  index: number;
  /** From the trace when it has one, else `r<index>` of the source row. */
  id: string;
  /** Seconds from the start of the trace (the first row is rebased to 0 before transforms). */
  arrivalS: number;
  inputTokens: number;
  outputTokens: number;
  /** Prefix-block hashes (Mooncake: one per 512 tokens). */
  hashIds?: number[];
  sessionId?: string;
  /** Request class (e.g. the artifact's category, BurstGPT's model). */
  class?: string;
  /** Per-request SLOs from the trace, ms. */
  slo?: { ttftMs?: number; tpotMs?: number; tbtMs?: number; e2elMs?: number };
  /** 1-based line of the source file the row came from. */
  sourceLine: number;
}
