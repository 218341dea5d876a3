/**
 * The closed form of one decode step (orbitflow-method.md §4.5), the one kernel every caller
 * uses. Copies are issued in layer order from the step's start on one copy engine with an
 * unbounded staging area; layer j (0-based) computes once its copies and layer j − 1 are done, so
 *
 *   T = L·t_c + max_j (D_j − j·t_c)⁺,   D_j = Σ_{l ≤ j} comm_l  (the copy time of layers 0..j).
 *
 * Equivalently T = max(L·t_c, max_j ((L − j)·t_c + D_j)): one "step row" per layer, which is how
 * the ILP writes it. (The heuristic keeps an incremental variant for its inner loop, checked
 * against this kernel by a property test.)
 */
export interface ClosedFormStep {
  stepMs: number;
  /** T − L·t_c: the time compute waited on copies. */
  stallMs: number;
  /** Σ comm: the copy engine's busy time. */
  transferMs: number;
  /** The layer whose row attains T (−1: no stall, the compute floor binds). */
  worstLayer: number;
}

export function closedFormStep(comm: ArrayLike<number>, layers: number, tcMs: number): ClosedFormStep {
  let cum = 0;
  let worst = 0;
  let worstLayer = -1;
  for (let j = 0; j < layers; j++) {
    cum += comm[j];
    const over = cum - j * tcMs;
    if (over > worst) {
      worst = over;
      worstLayer = j;
    }
  }
  return { stepMs: layers * tcMs + worst, stallMs: worst, transferMs: cum, worstLayer };
}

/** The step rows (L − j)·t_c + D_j, one per layer: T is the largest of them and L·t_c. */
export function stepRowValues(comm: ArrayLike<number>, layers: number, tcMs: number): Float64Array {
  const out = new Float64Array(layers);
  let cum = 0;
  for (let j = 0; j < layers; j++) {
    cum += comm[j];
    out[j] = (layers - j) * tcMs + cum;
  }
  return out;
}

/**
 * The same step layer by layer: layer j starts once layer j − 1 is done and its copies (D_j) have
 * landed, so it waits stall_j = max(0, D_j − end_{j−1}); Σ stall_j is the closed form's stallMs
 * (end_{L−1} = L·t_c + Σ stall_j = T). What the plan --batch report draws per layer.
 */
export function layerStallMs(comm: ArrayLike<number>, layers: number, tcMs: number): Float64Array {
  const stall = new Float64Array(layers);
  let cum = 0;
  let end = 0;
  for (let j = 0; j < layers; j++) {
    cum += comm[j];
    stall[j] = Math.max(0, cum - end);
    end += stall[j] + tcMs;
  }
  return stall;
}
