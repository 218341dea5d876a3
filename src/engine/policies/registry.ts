import { deepspeedPolicy } from './deepspeed.js';
import { drivenPolicy } from './driven.js';
import { dynamicPolicy } from './dynamic.js';
import type { EnginePolicy } from './engine-policy.js';
import { flexgenPlusPolicy } from './flexgen-plus.js';
import { flexgenPolicy } from './flexgen.js';
import { gpuOnlyPolicy } from './gpu-only.js';
import { sloAwarePolicy } from './slo-aware.js';

/** Every engine policy by name; a factory, since some policies keep per-engine state. */
const REGISTRY = {
  'gpu-only': () => gpuOnlyPolicy,
  deepspeed: () => deepspeedPolicy,
  flexgen: () => flexgenPolicy,
  'flexgen-plus': flexgenPlusPolicy,
  dynamic: dynamicPolicy,
  'slo-aware': sloAwarePolicy,
  orbitflow: () => drivenPolicy('orbitflow'),
  external: () => drivenPolicy('external'),
} as const satisfies Record<string, () => EnginePolicy>;

export type EnginePolicyName = keyof typeof REGISTRY;
export const ENGINE_POLICIES = Object.keys(REGISTRY) as EnginePolicyName[];

export function isEnginePolicyName(p: string): p is EnginePolicyName {
  return Object.hasOwn(REGISTRY, p);
}

export function createEnginePolicy(name: EnginePolicyName): EnginePolicy {
  return REGISTRY[name]();
}
