import { findModel } from '../core/model-catalogue.js';
import type { ModelSpec } from '../core/model-spec.js';
import { CostModel } from '../cost/cost-model.js';
import type { PlacementDriver } from '../engine/types.js';
import type { Profile } from '../core/profile-format.js';
import { Controller, DEFAULT_CONTROLLER, type ControllerConfig } from './controller.js';
import { InProcessControllerDriver } from './engine-driver.js';
import { createInlineSolver } from './inline-solver.js';
import type { SolverLatency } from './solve-latency.js';
import type { MonotonicMs } from '../core/solve-limit.js';

/**
 * OrbitFlow and the rungs of the paper's design-validation ladder (orbitflow-method.md §12):
 * Uniform Distance → + Token-Deposit → + Pause-Resume → per-request ILP placements (the paper's
 * OrbitFlow, admissions left to the engine) → + admission control ("not now": this project's
 * OrbitFlow).
 */
export const CONTROLLER_VARIANTS = {
  orbitflow: { mode: 'ilp', pause: true, useDeposit: false, admission: true },
  uniform: { mode: 'uniform', pause: false, useDeposit: false, admission: false },
  'uniform+td': { mode: 'uniform', pause: false, useDeposit: true, admission: false },
  'uniform+td+pr': { mode: 'uniform', pause: true, useDeposit: true, admission: false },
  'orbitflow-placement': { mode: 'ilp', pause: true, useDeposit: false, admission: false },
} as const satisfies Record<string, Pick<ControllerConfig, 'mode' | 'pause' | 'useDeposit' | 'admission'>>;

export type ControllerVariant = keyof typeof CONTROLLER_VARIANTS;
export const ABLATION_LADDER: readonly ControllerVariant[] = ['uniform', 'uniform+td', 'uniform+td+pr', 'orbitflow-placement', 'orbitflow'];

export function isControllerVariant(p: string): p is ControllerVariant {
  return Object.hasOwn(CONTROLLER_VARIANTS, p);
}

export interface ControllerSetup {
  model: ModelSpec;
  profile: Profile;
  tp: number;
  budgetBlocks: number;
  /** One TPOT SLO for every request, ms (per-request SLOs from the trace override it). */
  sloMs?: number;
  sloFor?: (id: string) => number | undefined;
  windowSteps?: number;
  timeLimitMs?: number;
  pausePolicy?: string;
  seed?: number;
  /** How the ILP's search is limited (default `work`: virtual time). */
  solveLimit?: 'wall' | 'work';
  /** What a solve is charged in virtual time (default: the model). */
  solverLatency?: SolverLatency;
  /** Measures solves (wall clock from the CLI); only `measured` latency lets it decide anything. */
  clockMs?: MonotonicMs;
}

export function controllerConfig(variant: ControllerVariant, s: ControllerSetup): ControllerConfig {
  return {
    ...DEFAULT_CONTROLLER,
    ...CONTROLLER_VARIANTS[variant],
    costFor: (computeScale, bandwidthScale) => new CostModel(s.model, s.profile, { tp: s.tp, computeScale, bandwidthScale, modelLookup: findModel }),
    budgetBlocks: s.budgetBlocks,
    sloFor: s.sloFor ?? (() => s.sloMs),
    windowSteps: s.windowSteps ?? DEFAULT_CONTROLLER.windowSteps,
    timeLimitMs: s.timeLimitMs ?? DEFAULT_CONTROLLER.timeLimitMs,
    pausePolicy: s.pausePolicy ?? DEFAULT_CONTROLLER.pausePolicy,
    seed: s.seed ?? 0,
    // In-process runs are virtual time: the ILP's search is limited in work, its latency modelled.
    solveLimit: s.solveLimit ?? 'work',
    solverLatency: s.solverLatency ?? { mode: 'model' },
  };
}

/** A controller driving the reference engine in-process (virtual time, or the engine's own wall clock). */
export function createInProcessDriver(variant: ControllerVariant, s: ControllerSetup): InProcessControllerDriver {
  const controller = new Controller(controllerConfig(variant, s), createInlineSolver({ model: s.model, profile: s.profile, tp: s.tp, clockMs: s.clockMs }), s.clockMs);
  return new InProcessControllerDriver(controller);
}

export type DriverFactory = (policy: string) => PlacementDriver | undefined;

export function driverFactory(s: ControllerSetup): DriverFactory {
  return (policy) => (isControllerVariant(policy) ? createInProcessDriver(policy, s) : undefined);
}
