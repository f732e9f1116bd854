import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bfgs, LineSearchFailure, wolfeLineSearch, type ObjectiveValue } from '../../../core/adaptation/bfgs.js';
import { dot } from '../../../core/math/dense-linear-algebra.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

/** f(x) = ½ (x − m)ᵀ Q (x − m) + 3 with Q = Rᵀ diag(e) R, R orthonormal: minimiser m, minimum 3, cond(Q) exact. */
function quadratic(n: number, seed: number, conditionNumber: number) {
  const rng = new SeededRandom(seed);
  // Gram–Schmidt on Gaussian rows gives a random orthonormal R.
  const r: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const v = Float64Array.from({ length: n }, () => rng.gaussian());
    for (const u of r) {
      const p = dot(u, v);
      for (let i = 0; i < n; i++) v[i] -= p * u[i];
    }
    const norm = Math.sqrt(dot(v, v));
    r.push(v.map((x) => x / norm));
  }
  const q = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const e = conditionNumber ** (k / (n - 1));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) q[i * n + j] += e * r[k][i] * r[k][j];
  }
  const m = Float64Array.from({ length: n }, () => 3 * rng.gaussian());
  const objective = (x: Float64Array): ObjectiveValue => {
    const d = x.map((v, i) => v - m[i]);
    const g = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i] += q[i * n + j] * d[j];
    return { f: 0.5 * dot(d, g) + 3, g };
  };
  return { objective, minimiser: m, hessian: q };
}

function rosenbrock(x: Float64Array): ObjectiveValue {
  const [a, b] = x;
  return {
    f: (1 - a) ** 2 + 100 * (b - a * a) ** 2,
    g: Float64Array.of(-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)),
  };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

test('BFGS finds the minimiser of a 20-dimensional quadratic with condition number 1e4', async () => {
  const { objective, minimiser } = quadratic(20, 5, 1e4);
  const result = await bfgs(objective, new Float64Array(20), { gradientTolerance: 1e-9, maxIterations: 500 });
  assert.equal(result.stop, 'gradient');
  assert.ok(result.gradientNorm < 1e-9);
  assert.ok(maxAbs(result.x, minimiser) < 1e-8, `max |x − m| = ${maxAbs(result.x, minimiser)}`);
  assert.ok(Math.abs(result.f - 3) < 1e-12);
  // Exact line searches would finish in n = 20 steps; with Wolfe steps and the scaled identity of
  // Nocedal & Wright (6.20) as the first inverse Hessian, which underestimates the flat
  // directions of this spectrum, it took 142 (SciPy's unscaled identity: 26). The bound only
  // catches a broken update, which would not converge at all in 500.
  assert.ok(result.iterations <= 200, `${result.iterations} iterations`);
});

test('given the exact inverse Hessian as its start, BFGS solves a quadratic in at most 3 steps', async () => {
  const n = 20;
  const { objective, minimiser, hessian } = quadratic(n, 5, 1e4);
  // Q⁻¹ by Gauss–Jordan, independently of the code under test.
  const aug = Array.from({ length: n }, (_, i) => [
    ...hessian.subarray(i * n, (i + 1) * n),
    ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  ]);
  for (let c = 0; c < n; c++) {
    const pivot = aug[c][c];
    for (let k = 0; k < 2 * n; k++) aug[c][k] /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const factor = aug[r][c];
      for (let k = 0; k < 2 * n; k++) aug[r][k] -= factor * aug[c][k];
    }
  }
  const inverse = Float64Array.from(aug.flatMap((row) => row.slice(n)));
  const result = await bfgs(objective, new Float64Array(n), {
    gradientTolerance: 1e-9,
    initialInverseHessian: inverse,
  });
  assert.equal(result.stop, 'gradient');
  assert.ok(result.iterations <= 3, `${result.iterations} iterations`);
  assert.ok(maxAbs(result.x, minimiser) < 1e-8);
});

test('BFGS finds the Rosenbrock minimum (1, 1) from a close start and from the classic (−1.2, 1)', async () => {
  for (const start of [
    [1.2, 1.2],
    [-1.2, 1],
  ]) {
    const result = await bfgs(rosenbrock, start, { gradientTolerance: 1e-8, maxIterations: 500 });
    assert.equal(result.stop, 'gradient', `from ${start}`);
    assert.ok(maxAbs(result.x, [1, 1]) < 1e-7, `from ${start}: x = ${Array.from(result.x)}`);
    assert.ok(result.f < 1e-14, `from ${start}: f = ${result.f}`);
  }
});

test('BFGS stops at the iteration cap and says so', async () => {
  const result = await bfgs(rosenbrock, [-1.2, 1], { gradientTolerance: 1e-8, maxIterations: 3 });
  assert.equal(result.stop, 'max-iterations');
  assert.equal(result.iterations, 3);
  assert.ok(result.gradientNorm >= 1e-8);
});

test('every step of a BFGS run satisfies the strong Wolfe conditions', async () => {
  const c1 = 1e-4;
  const c2 = 0.9;
  for (const [name, objective, x0] of [
    ['Rosenbrock', rosenbrock, Float64Array.of(-1.2, 1)],
    ['quadratic', quadratic(8, 11, 100).objective, new Float64Array(8)],
  ] as const) {
    // With s = x₊ − x = α·d the conditions read f₊ ≤ f + c1·gᵀs and |g₊ᵀs| ≤ c2·|gᵀs|.
    let x = Float64Array.from(x0);
    let value = objective(x);
    let steps = 0;
    const result = await bfgs(objective, x0, {
      gradientTolerance: 1e-8,
      lineSearch: { c1, c2 },
      onIteration: (p) => {
        const s = p.x.map((v, i) => v - x[i]);
        const slope = dot(value.g, s);
        assert.equal(p.wolfe, 'strong');
        assert.ok(slope < 0, `${name} step ${p.iteration} is not a descent step`);
        assert.ok(p.f <= value.f + c1 * slope, `${name} step ${p.iteration}: no sufficient decrease`);
        assert.ok(
          Math.abs(dot(p.g, s)) <= c2 * Math.abs(slope),
          `${name} step ${p.iteration}: curvature condition fails`,
        );
        x = p.x.slice();
        value = { f: p.f, g: p.g.slice() };
        steps++;
      },
    });
    assert.equal(result.stop, 'gradient');
    assert.equal(steps, result.iterations);
    assert.ok(steps > 5);
  }
});

test('the line search meets strong Wolfe where the good step is very long, very short, or curved', async () => {
  const c1 = 1e-4;
  const c2 = 0.9;
  const cases: { x: number[]; d: number[] }[] = [
    { x: [-1.2, 1], d: [1, 0] },
    { x: [-1.2, 1], d: [0.0001, 0] }, // many doublings before the minimum is bracketed
    { x: [0, 0], d: [100, 0] }, // the first trial overshoots by far: zoom
    { x: [1.5, 1.5], d: [-1, -3] },
  ];
  for (const { x, d } of cases) {
    const xs = Float64Array.from(x);
    const dir = Float64Array.from(d);
    const v0 = rosenbrock(xs);
    const d0 = dot(v0.g, dir);
    assert.ok(d0 < 0, 'test direction must descend');
    const step = await wolfeLineSearch(rosenbrock, xs, v0, dir, 1, { c1, c2 });
    const dAlpha = dot(step.value.g, dir);
    assert.equal(step.wolfe, 'strong');
    assert.ok(
      step.value.f <= v0.f + c1 * step.alpha * d0,
      `sufficient decrease fails at α = ${step.alpha} for ${x} + α·${d}`,
    );
    assert.ok(
      Math.abs(dAlpha) <= -c2 * d0,
      `curvature fails at α = ${step.alpha}: |φ'(α)| = ${Math.abs(dAlpha)}, c2|φ'(0)| = ${-c2 * d0}`,
    );
    assert.deepEqual(
      Array.from(step.x),
      Array.from(xs, (v, i) => v + step.alpha * dir[i]),
    );
  }
});

test(
  'a line search along an ascent direction is refused; ' + 'one that finds no Wolfe point fails with its cost',
  async () => {
    const x = Float64Array.of(-1.2, 1);
    const v0 = rosenbrock(x);
    const ascent = v0.g.slice();
    await assert.rejects(wolfeLineSearch(rosenbrock, x, v0, ascent, 1), /descent direction/);
    // f decreasing forever along the direction: no curvature condition can be met.
    const linear = (z: Float64Array): ObjectiveValue => ({ f: -z[0], g: Float64Array.of(-1) });
    await assert.rejects(
      wolfeLineSearch(linear, Float64Array.of(0), linear(Float64Array.of(0)), Float64Array.of(1), 1, {
        maxEvaluations: 12,
      }),
      (err: unknown) => err instanceof LineSearchFailure && err.evaluations === 12,
    );
  },
);

test('with fTolerance, BFGS converges on an objective whose value carries noise its gradient does not', async () => {
  // As the adaptation's float32 passes: f jitters (here by 1e-6; a deterministic, erratic function
  // of x), the gradient is accurate. Near the minimum, decreases sink below the jitter.
  const { objective, minimiser } = quadratic(6, 9, 100);
  const noisy = (x: Float64Array): ObjectiveValue => {
    const v = objective(x);
    const jitter = 1e-6 * Math.sin(1e9 * x.reduce((s, xi, i) => s + xi * (i + 1), 0));
    return { f: v.f + jitter, g: v.g };
  };
  const plain = await bfgs(noisy, new Float64Array(6), { gradientTolerance: 1e-7, maxIterations: 200 });
  assert.equal(
    plain.stop,
    'line-search',
    `without fTolerance it should get stuck, got ${plain.stop} at ‖∇‖ = ${plain.gradientNorm}`,
  );
  assert.ok(plain.gradientNorm > 1e-7);
  const tolerant = await bfgs(noisy, new Float64Array(6), {
    gradientTolerance: 1e-7,
    maxIterations: 200,
    lineSearch: { fTolerance: 3e-6 },
  });
  assert.equal(tolerant.stop, 'gradient');
  assert.ok(tolerant.approximateSteps > 0);
  assert.ok(maxAbs(tolerant.x, minimiser) < 1e-6);
});
