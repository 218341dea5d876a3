import { ALL_ON_GPU } from '../../core/placement.js';
import { staticDistancePolicy } from './static-distance.js';

/** vLLM's default: every layer on the GPU, no host tier (so no pause); out of memory preempts and recomputes. */
export const gpuOnlyPolicy = staticDistancePolicy('gpu-only', ALL_ON_GPU, false);
