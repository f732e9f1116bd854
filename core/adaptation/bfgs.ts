import { axpy, dot, norm2 } from '../math/dense-linear-algebra.js';

/**
 * Dense BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithm 6.1) with a line
 * search for the strong Wolfe conditions (Algorithms 3.5 and 3.6), in float64, for any smooth
 * objective. The inverse Hessian is kept as a full matrix: the perceptron has C' + 1 ≤ a few
 * hundred unknowns, so its n² memory and O(n²) update cost nothing next to one objective
 * evaluation, which passes over every support pixel.
 *
 * The objective may be asynchronous (the adaptation evaluates it with TF.js) and may throw to
 * cancel: nothing here catches.
 */

export interface ObjectiveValue {
  readonly f: number;
  readonly g: Float64Array;
}

export interface LineSearchOptions {
  /** Sufficient decrease (Armijo) constant. */
  readonly c1: number;
  /** Curvature constant; 0.9 is the usual choice for quasi-Newton directions. */
  readonly c2: number;
  /** Objective evaluations one line search may spend. */
  readonly maxEvaluations: number;
  /**
   * Absolute error of f. When f is computed in float32 (sums over many pixels), values closer
   * than this cannot be ordered, so near a minimum sufficient decrease can no longer be seen.
   * Then a step is accepted on the approximate Wolfe conditions of Hager & Zhang (2005) instead:
   * f(α) ≤ f(0) + fTolerance and c2·φ'(0) ≤ φ'(α) ≤ (2·c1 − 1)·φ'(0), which rest on the
   * directional derivative, still accurate there. 0 (the default) means exact f: strong Wolfe only.
   */
  readonly fTolerance: number;
}

export const LINE_SEARCH_DEFAULTS: LineSearchOptions = { c1: 1e-4, c2: 0.9, maxEvaluations: 30, fTolerance: 0 };

export type WolfeKind = 'strong' | 'approximate';

export interface LineSearchResult<V extends ObjectiveValue = ObjectiveValue> {
  /** Step length; the new point is x + alpha · direction. */
  readonly alpha: number;
  readonly x: Float64Array;
  readonly value: V;
  readonly evaluations: number;
  /** Which conditions the accepted step satisfies. */
  readonly wolfe: WolfeKind;
}

/** No step satisfying the conditions was found; `evaluations` were spent looking. */
export class LineSearchFailure extends Error {
  constructor(
    readonly evaluations: number,
    reason: string,
  ) {
    super(`line search failed: ${reason}`);
    this.name = 'LineSearchFailure';
  }
}

/**
 * The minimiser of the cubic through (a, fa, da) and (b, fb, db), or undefined when it does
 * not exist (Nocedal & Wright eq. 3.59).
 */
function cubicMinimiser(a: number, fa: number, da: number, b: number, fb: number, db: number): number | undefined {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const radicand = d1 * d1 - da * db;
  if (!(radicand >= 0)) return undefined;
  const d2 = Math.sign(b - a) * Math.sqrt(radicand);
  const t = b - ((b - a) * (db + d2 - d1)) / (db - da + 2 * d2);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * Finds a step along `direction` (a descent direction at x) satisfying the strong Wolfe
 * conditions f(x + αd) ≤ f(x) + c1·α·∇f(x)ᵀd and |∇f(x + αd)ᵀd| ≤ c2·|∇f(x)ᵀd|, starting
 * with α = alpha0 and doubling until the minimum is bracketed, then zooming in by safeguarded
 * cubic interpolation. Throws LineSearchFailure when none is found within the budget.
 */
export async function wolfeLineSearch<V extends ObjectiveValue>(
  objective: (x: Float64Array) => V | Promise<V>,
  x: Float64Array,
  value0: V,
  direction: Float64Array,
  alpha0: number,
  options: Partial<LineSearchOptions> = {},
): Promise<LineSearchResult<V>> {
  const { c1, c2, maxEvaluations, fTolerance } = { ...LINE_SEARCH_DEFAULTS, ...options };
  if (!(0 < c1 && c1 < c2 && c2 < 1))
    throw new Error(`the Wolfe constants need 0 < c1 < c2 < 1, got c1 = ${c1}, c2 = ${c2}`);
  const f0 = value0.f;
  const d0 = dot(value0.g, direction);
  if (!(d0 < 0)) throw new Error(`the line search needs a descent direction; the directional derivative is ${d0}`);

  interface Point {
    alpha: number;
    x: Float64Array;
    value: V;
    f: number;
    d: number;
  }
  let evaluations = 0;
  const evaluate = async (alpha: number): Promise<Point> => {
    evaluations++;
    const xa = axpy(x, alpha, direction);
    const value = await objective(xa);
    return { alpha, x: xa, value, f: value.f, d: dot(value.g, direction) };
  };
  const armijo = (p: Point) => p.f <= f0 + c1 * p.alpha * d0;
  const curvature = (p: Point) => Math.abs(p.d) <= -c2 * d0;
  const approximate = (p: Point) =>
    fTolerance > 0 && p.f <= f0 + fTolerance && c2 * d0 <= p.d && p.d <= (2 * c1 - 1) * d0;
  // f within its noise of f(0) and the slope still steep: the minimum lies further on, whatever
  // f's last digits say, so the step counts as too short rather than too long.
  const tooShort = (p: Point) => fTolerance > 0 && p.f <= f0 + fTolerance && p.d < c2 * d0;
  const accept = (p: Point, wolfe: WolfeKind): LineSearchResult<V> => ({
    alpha: p.alpha,
    x: p.x,
    value: p.value,
    evaluations,
    wolfe,
  });

  // Zoom (Algorithm 3.6): lo has the lowest f seen that satisfies sufficient decrease; the
  // interval between lo and hi contains steps satisfying strong Wolfe.
  const zoom = async (lo: Point, hi: Point): Promise<LineSearchResult<V>> => {
    while (evaluations < maxEvaluations) {
      const width = hi.alpha - lo.alpha;
      if (!(Math.abs(width) > 1e-16 * Math.max(1, Math.abs(lo.alpha)))) break;
      let alpha = cubicMinimiser(lo.alpha, lo.f, lo.d, hi.alpha, hi.f, hi.d);
      // Keep the trial well inside the interval so it shrinks by a fixed fraction at least.
      const left = lo.alpha + 0.1 * width;
      const right = hi.alpha - 0.1 * width;
      const [min, max] = left < right ? [left, right] : [right, left];
      if (alpha === undefined || !(alpha >= min && alpha <= max)) alpha = lo.alpha + 0.5 * width;
      const p = await evaluate(alpha);
      if (!Number.isFinite(p.f) || !armijo(p) || p.f >= lo.f) {
        if (approximate(p)) return accept(p, 'approximate');
        if (tooShort(p) && hi.alpha - lo.alpha > 0) {
          lo = p;
          continue;
        }
        hi = p;
        continue;
      }
      if (curvature(p)) return accept(p, 'strong');
      if (p.d * (hi.alpha - lo.alpha) >= 0) hi = lo;
      lo = p;
    }
    throw new LineSearchFailure(
      evaluations,
      `the bracket [${lo.alpha}, ${hi.alpha}] held no Wolfe point after ${evaluations} evaluations`,
    );
  };

  let previous: Point = { alpha: 0, x, value: value0, f: f0, d: d0 };
  let alpha = alpha0;
  while (evaluations < maxEvaluations) {
    const p = await evaluate(alpha);
    if (!Number.isFinite(p.f) || !armijo(p) || (evaluations > 1 && p.f >= previous.f)) {
      if (approximate(p)) return accept(p, 'approximate');
      if (tooShort(p)) {
        previous = p;
        alpha *= 2;
        continue;
      }
      // A non-finite value means the step overshot into overflow: treat it as too long.
      return zoom(previous, Number.isFinite(p.f) ? p : { ...p, f: Infinity, d: Infinity });
    }
    if (curvature(p)) return accept(p, 'strong');
    if (p.d >= 0) return zoom(p, previous);
    previous = p;
    alpha *= 2;
  }
  throw new LineSearchFailure(evaluations, `no step up to ${alpha} satisfied the Wolfe conditions`);
}

export interface BfgsOptions {
  /** Stop when ‖∇f‖₂ falls below this. */
  readonly gradientTolerance: number;
  readonly maxIterations: number;
  readonly lineSearch: Partial<LineSearchOptions>;
  /**
   * A starting inverse Hessian approximation (row-major n × n, symmetric positive definite), e.g.
   * the inverse Hessian of a related problem; it is rescaled to the curvature of the first step
   * (as the identity is in Nocedal & Wright eq. 6.20). Default: the identity.
   */
  readonly initialInverseHessian?: Float64Array;
  /** The objective's value at x0 when the caller has it already: saves one evaluation. */
  readonly initialValue?: ObjectiveValue;
  /** Called after every accepted step; awaited, so it may yield or throw to cancel. */
  readonly onIteration?: (progress: BfgsProgress) => void | Promise<void>;
}

export interface BfgsProgress {
  readonly iteration: number;
  /** The point just accepted and its gradient (the optimiser's own arrays: do not modify). */
  readonly x: Float64Array;
  readonly g: Float64Array;
  readonly f: number;
  readonly gradientNorm: number;
  readonly evaluations: number;
  readonly wolfe: WolfeKind;
}

export type BfgsStop = 'gradient' | 'max-iterations' | 'line-search';

export interface BfgsResult<V extends ObjectiveValue = ObjectiveValue> {
  readonly x: Float64Array;
  /** What the objective returned at x (with whatever else it computed there). */
  readonly value: V;
  readonly f: number;
  readonly g: Float64Array;
  readonly gradientNorm: number;
  /** Accepted steps. */
  readonly iterations: number;
  /** Objective evaluations, the starting point's included unless it was given. */
  readonly evaluations: number;
  /**
   * Why it stopped: 'gradient' (‖∇f‖ below the tolerance: converged), 'max-iterations' (the
   * cap), 'line-search' (no acceptable step along the steepest-descent direction either: f is
   * flat to its own precision there).
   */
  readonly stop: BfgsStop;
  /** Steps accepted on the approximate rather than the strong Wolfe conditions. */
  readonly approximateSteps: number;
}

export const BFGS_DEFAULTS: Omit<BfgsOptions, 'onIteration'> = {
  gradientTolerance: 1e-5,
  maxIterations: 200,
  lineSearch: {},
};

/** Minimises `objective` from x0. */
export async function bfgs<V extends ObjectiveValue>(
  objective: (x: Float64Array) => V | Promise<V>,
  x0: ArrayLike<number>,
  options: Partial<BfgsOptions> = {},
): Promise<BfgsResult<V>> {
  const {
    gradientTolerance,
    maxIterations,
    lineSearch,
    onIteration,
    initialInverseHessian: h0,
    initialValue,
  } = { ...BFGS_DEFAULTS, ...options };
  const n = x0.length;
  let x: Float64Array = Float64Array.from(x0);
  let value = (initialValue as V | undefined) ?? (await objective(x));
  let evaluations = initialValue ? 0 : 1;
  let iterations = 0;
  let approximateSteps = 0;
  // Inverse Hessian approximation, row-major; undefined means "a scaled identity, not yet set".
  let h: Float64Array | undefined;
  let stop: BfgsStop;

  for (;;) {
    const gradientNorm = norm2(value.g);
    if (!Number.isFinite(value.f) || value.g.some((v) => !Number.isFinite(v))) {
      throw new Error(`BFGS: the objective is not finite at iteration ${iterations} (f = ${value.f})`);
    }
    if (gradientNorm < gradientTolerance) {
      stop = 'gradient';
      break;
    }
    if (iterations >= maxIterations) {
      stop = 'max-iterations';
      break;
    }
    let direction = new Float64Array(n);
    if (h) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s -= h[i * n + j] * value.g[j];
        direction[i] = s;
      }
      // Rounding can make a badly conditioned H lose positive definiteness: start afresh.
      if (!(dot(direction, value.g) < 0)) h = undefined;
    }
    const fresh = h === undefined;
    if (fresh) {
      direction = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (!h0) direction[i] = -value.g[i];
        else for (let j = 0; j < n; j++) direction[i] -= h0[i * n + j] * value.g[j];
      }
    }
    // Before any curvature is known a first step of unit length: the gradient's scale says
    // nothing about the distance to the minimum.
    const alpha0 = fresh ? Math.min(1, 1 / norm2(direction)) : 1;
    let step: LineSearchResult<V>;
    try {
      step = await wolfeLineSearch(objective, x, value, direction, alpha0, lineSearch);
    } catch (err) {
      if (!(err instanceof LineSearchFailure)) throw err;
      evaluations += err.evaluations;
      if (!fresh) {
        h = undefined;
        continue;
      }
      stop = 'line-search';
      break;
    }
    evaluations += step.evaluations;
    if (step.wolfe === 'approximate') approximateSteps++;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = step.x[i] - x[i];
      y[i] = step.value.g[i] - value.g[i];
    }
    const sy = dot(s, y);
    // Wolfe guarantees sᵀy > 0 in exact arithmetic; skip the update when rounding says otherwise.
    if (sy > 1e-12 * norm2(s) * norm2(y)) {
      if (!h) {
        // Nocedal & Wright eq. 6.20: scale the initial matrix to the curvature just seen.
        if (h0) {
          let yh0y = 0;
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) yh0y += y[i] * h0[i * n + j] * y[j];
          const scale = sy / yh0y;
          h = h0.map((v) => v * scale);
        } else {
          h = new Float64Array(n * n);
          const scale = sy / dot(y, y);
          for (let i = 0; i < n; i++) h[i * n + i] = scale;
        }
      }
      // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, expanded: with u = H y,
      // H ← H − ρ (u sᵀ + s uᵀ) + (ρ² yᵀu + ρ) s sᵀ.
      const rho = 1 / sy;
      const u = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let t = 0;
        for (let j = 0; j < n; j++) t += h[i * n + j] * y[j];
        u[i] = t;
      }
      const coefficient = rho * rho * dot(y, u) + rho;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) h[i * n + j] += -rho * (u[i] * s[j] + s[i] * u[j]) + coefficient * s[i] * s[j];
      }
    }
    x = step.x;
    value = step.value;
    iterations++;
    await onIteration?.({
      iteration: iterations,
      x,
      g: value.g,
      f: value.f,
      gradientNorm: norm2(value.g),
      evaluations,
      wolfe: step.wolfe,
    });
  }
  return {
    x,
    value,
    f: value.f,
    g: value.g,
    gradientNorm: norm2(value.g),
    iterations,
    evaluations,
    stop,
    approximateSteps,
  };
}
