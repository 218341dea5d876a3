import { compareValues, evaluateAssignment, type AssignmentValue, type Instance } from './instance.js';

/**
 * Exhaustive search over every option of every request (|O|^N assignments): the reference the ILP
 * is checked against on small instances. Returns the (T, bytes)-lexicographic optimum within the
 * budget, or null when nothing fits. Refuses instances beyond `maxAssignments`.
 */
export function enumerateOptimum(inst: Instance, maxAssignments = 2_000_000): { assign: Int32Array; value: AssignmentValue; visited: number } | null {
  const N = inst.requests.length;
  const O = inst.options.length;
  if (O ** N > maxAssignments) throw new RangeError(`enumeration of ${O}^${N} assignments is too large`);
  const assign = new Int32Array(N);
  let best: { assign: Int32Array; value: AssignmentValue } | null = null;
  let visited = 0;
  for (;;) {
    visited++;
    const v = evaluateAssignment(inst, assign);
    if (v.memoryBlocks <= inst.budgetBlocks && (!best || compareValues(v, best.value) < 0)) best = { assign: Int32Array.from(assign), value: v };
    let i = 0;
    while (i < N && ++assign[i] === O) assign[i++] = 0;
    if (i === N) break;
  }
  return best ? { ...best, visited } : null;
}
