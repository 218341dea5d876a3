import { staticDistancePolicy } from './static-distance.js';

/** FlexGen (the artifact's Static1): fixed distance 1, every second layer offloaded. */
export const flexgenPolicy = staticDistancePolicy('flexgen', 1, true);
