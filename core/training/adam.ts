/**
 * Adam (Kingma & Ba, 2015) over one flat parameter vector, with bias-corrected moments. The
 * moments are float64 so that a checkpoint restores them bit for bit and long runs do not
 * lose the small second moments of rarely-active parameters.
 */
export interface AdamOptions {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/** PyTorch's defaults, which the MSD reference code trains with. */
export const ADAM_DEFAULTS: AdamOptions = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

export interface AdamState {
  /** Steps taken. */
  step: number;
  readonly m: Float64Array;
  readonly v: Float64Array;
}

export class Adam {
  readonly options: AdamOptions;
  readonly state: AdamState;

  constructor(size: number, options: Partial<AdamOptions> = {}, state?: AdamState) {
    this.options = { ...ADAM_DEFAULTS, ...options };
    if (state && (state.m.length !== size || state.v.length !== size))
      throw new Error(`Adam state is for ${state.m.length} parameters, not ${size}`);
    this.state = state ?? { step: 0, m: new Float64Array(size), v: new Float64Array(size) };
  }

  /** params ← params − lr · m̂ / (√v̂ + ε), in place. */
  update(params: Float32Array | Float64Array, grad: Float64Array): void {
    const { learningRate: lr, beta1, beta2, epsilon } = this.options;
    const { m, v } = this.state;
    if (params.length !== m.length || grad.length !== m.length)
      throw new Error(`Adam holds ${m.length} parameters, got ${params.length} and a gradient of ${grad.length}`);
    const t = ++this.state.step;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    for (let i = 0; i < m.length; i++) {
      const g = grad[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      params[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + epsilon);
    }
  }
}
