import { ALL_OFFLOADED } from '../../core/placement.js';
import { staticDistancePolicy } from './static-distance.js';

/** DeepSpeed-style (the artifact's NextLayer): every layer on the host, each fetched one layer ahead. */
export const deepspeedPolicy = staticDistancePolicy('deepspeed', ALL_OFFLOADED, true);
