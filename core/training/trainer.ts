import { Adam, type AdamState } from './adam.js';
import { CropSampler, type MaskedImage } from './crop-sampler.js';
import { diceScore } from '../math/dice.js';
import { localTrainEngine, type TrainEngineFactory } from './train-engine.js';
import { msdParamLayout, packMsdParams, unpackMsdParams } from '../msd/engine.js';
import { initMsdWeights, type MsdWeights } from '../msd/weights.js';
import { SeededRandom } from '../math/seeded-random.js';

/**
 * Trains one MSD feature extractor as a binary segmenter of one class
 * (docs/ARCHITECTURE.md#feature-extractors): Adam on batch soft-Dice, an 80/20 split by image,
 * epochs of a fixed number of class-biased crops, validation Dice pooled over every validation
 * pixel, and an early stop once that Dice has not improved for `patience` epochs.
 */
export interface TrainOptions {
  readonly depth: number;
  /** Edge of the square training crops. */
  readonly crop: number;
  /** Crops per optimiser step; the soft Dice is computed over all of them together. */
  readonly batch: number;
  /** Crops per epoch (rounded up to whole batches). */
  readonly cropsPerEpoch: number;
  /** Stop when validation Dice has not improved for this many epochs. */
  readonly patience: number;
  readonly maxEpochs: number;
  /** Seconds this call may train for; checked after each epoch. */
  readonly maxSeconds: number;
  readonly seed: number;
  readonly learningRate: number;
  readonly validationFraction: number;
  readonly positiveFraction: number;
  readonly augment: boolean;
  /** σ of the HED stain jitter of every crop (hed-jitter.ts); 0: none. */
  readonly hedJitter: number;
  readonly engine: TrainEngineFactory;
  readonly checkpoint?: CheckpointStore;
  readonly onEpoch?: (p: EpochProgress) => void;
  readonly signal?: AbortSignal;
}

export const TRAIN_DEFAULTS = {
  depth: 25,
  crop: 128,
  batch: 8,
  cropsPerEpoch: 512,
  patience: 10,
  maxEpochs: 200,
  maxSeconds: Infinity,
  seed: 1,
  learningRate: 1e-3,
  validationFraction: 0.2,
  positiveFraction: 0.8,
  augment: true,
  hedJitter: 0,
  engine: localTrainEngine,
} satisfies Partial<TrainOptions>;

export interface EpochProgress {
  readonly epoch: number;
  /** Mean batch soft-Dice loss over the epoch's steps. */
  readonly loss: number;
  /** Dice of the 0.5-thresholded prediction, pooled over all validation pixels. */
  readonly valDice: number;
  /** Soft Dice of the probabilities, pooled the same way. */
  readonly valSoftDice: number;
  readonly bestEpoch: number;
  readonly bestValDice: number;
  /** Wall time of this epoch, validation included. */
  readonly seconds: number;
  /** Training time so far over all runs of this checkpoint. */
  readonly elapsed: number;
  /** Seconds to the earliest possible stop: if validation Dice does not improve again. */
  readonly eta: number;
  /** Seconds to the latest stop: max epochs or this call's time limit. */
  readonly etaMax: number;
}

export type StopReason = 'early-stop' | 'max-epochs' | 'time-limit';

export interface TrainResult {
  /** The weights of the epoch with the best validation Dice. */
  readonly weights: MsdWeights;
  readonly bestEpoch: number;
  readonly bestValDice: number;
  /** Epochs trained, over all runs of this checkpoint. */
  readonly epochs: number;
  readonly stopReason: StopReason;
  /** Epoch 0 is the untrained network's validation. */
  readonly history: readonly EpochRecord[];
  readonly split: { readonly train: readonly string[]; readonly validation: readonly string[] };
}

export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly valDice: number;
  readonly valSoftDice: number;
  readonly seconds: number;
}

/** A checkpoint as one JSON text and one binary blob; where they are kept is the store's business. */
export interface CheckpointStore {
  load(): Promise<{ json: string; binary: Uint8Array } | undefined>;
  save(checkpoint: { json: string; binary: Uint8Array }): Promise<void>;
}

/** What must match for a checkpoint to be resumed by this call. */
interface RunIdentity {
  inputChannels: number;
  depth: number;
  crop: number;
  batch: number;
  cropsPerEpoch: number;
  seed: number;
  learningRate: number;
  positiveFraction: number;
  augment: boolean;
  /** Only when on, so that checkpoints made before the option existed still resume. */
  hedJitter?: number;
  /** Every image's name and class-pixel count, so another dataset or class is caught. */
  data: string;
}

interface CheckpointMeta {
  format: 'msd-train-checkpoint/1';
  identity: RunIdentity;
  split: { train: string[]; validation: string[] };
  normalisation: MsdWeights['normalisation'];
  epoch: number;
  bestEpoch: number;
  bestValDice: number;
  elapsed: number;
  rngState: number;
  adamStep: number;
  history: EpochRecord[];
  /** Float32 params, float32 best params, float64 Adam m, float64 Adam v, in that order. */
  binary: { params: number; best: number; m: number; v: number; bytes: number; fnv1a: number };
}

interface RunState {
  params: Float32Array;
  best: Float32Array;
  adam: AdamState;
  rng: SeededRandom;
  split: { train: string[]; validation: string[] };
  normalisation: MsdWeights['normalisation'];
  epoch: number;
  bestEpoch: number;
  bestValDice: number;
  elapsed: number;
  history: EpochRecord[];
}

export async function trainMsd(
  images: readonly MaskedImage[],
  options: Partial<TrainOptions> = {},
): Promise<TrainResult> {
  const o: TrainOptions = { ...TRAIN_DEFAULTS, ...options };
  if (images.length < 2) throw new Error(`training needs at least 2 images (one for validation), got ${images.length}`);
  const C = 3;
  for (const im of images) {
    if (im.rgb.length !== im.width * im.height * C || im.mask.length !== im.width * im.height)
      throw new Error(`${im.name}: expected ${im.width}×${im.height} RGB and mask`);
  }
  const identity: RunIdentity = {
    inputChannels: C,
    depth: o.depth,
    crop: o.crop,
    batch: o.batch,
    cropsPerEpoch: o.cropsPerEpoch,
    seed: o.seed,
    learningRate: o.learningRate,
    positiveFraction: o.positiveFraction,
    augment: o.augment,
    ...(o.hedJitter > 0 ? { hedJitter: o.hedJitter } : {}),
    data: images.map((im) => `${im.name}:${countOnes(im.mask)}`).join(','),
  };

  const saved = o.checkpoint ? await o.checkpoint.load() : undefined;
  const state = saved ? restore(saved, identity) : initialState(images, o, C);
  const byName = new Map(images.map((im) => [im.name, im]));
  const train = state.split.train.map((n) => byName.get(n)!);
  const validation = state.split.validation.map((n) => byName.get(n)!);
  const sampler = new CropSampler(train, {
    size: o.crop,
    positiveFraction: o.positiveFraction,
    augment: o.augment,
    hedJitter: o.hedJitter,
  });
  const adam = new Adam(state.params.length, { learningRate: o.learningRate }, state.adam);
  const engine = await o.engine({ inputChannels: C, depth: o.depth, crop: o.crop, batch: o.batch });
  const result = (stopReason: StopReason): TrainResult => ({
    weights: unpackMsdParams(state.best, C, o.depth, state.normalisation),
    bestEpoch: state.bestEpoch,
    bestValDice: state.bestValDice,
    epochs: state.epoch,
    stopReason,
    history: state.history,
    split: state.split,
  });

  try {
    await engine.setValidation(validation);
    const started = performance.now();
    if (state.history.length === 0) {
      const t0 = performance.now();
      const v = await engine.validate(state.params, state.normalisation);
      state.bestValDice = diceScore(v.hard);
      state.history.push({
        epoch: 0,
        loss: NaN,
        valDice: state.bestValDice,
        valSoftDice: diceScore(v.soft),
        seconds: (performance.now() - t0) / 1000,
      });
    }
    const steps = Math.ceil(o.cropsPerEpoch / o.batch);
    for (;;) {
      if (state.epoch - state.bestEpoch >= o.patience) return result('early-stop');
      if (state.epoch >= o.maxEpochs) return result('max-epochs');
      if ((performance.now() - started) / 1000 >= o.maxSeconds) return result('time-limit');

      const t0 = performance.now();
      let lossSum = 0;
      for (let s = 0; s < steps; s++) {
        throwIfAborted(o.signal);
        const crops = Array.from({ length: o.batch }, () => sampler.sample(state.rng));
        const { loss, grad } = await engine.step(state.params, state.normalisation, crops);
        adam.update(state.params, grad);
        lossSum += loss;
      }
      throwIfAborted(o.signal);
      const v = await engine.validate(state.params, state.normalisation);
      const seconds = (performance.now() - t0) / 1000;
      state.epoch++;
      state.elapsed += seconds;
      const record: EpochRecord = {
        epoch: state.epoch,
        loss: lossSum / steps,
        valDice: diceScore(v.hard),
        valSoftDice: diceScore(v.soft),
        seconds,
      };
      state.history.push(record);
      if (record.valDice > state.bestValDice) {
        state.bestValDice = record.valDice;
        state.bestEpoch = state.epoch;
        state.best.set(state.params);
      }
      if (o.checkpoint) await o.checkpoint.save(encode(state, identity));

      const perEpoch = state.elapsed / Math.max(1, state.history.length - 1);
      const leftInCall = Math.max(0, o.maxSeconds - (performance.now() - started) / 1000);
      const toEarly = Math.max(0, Math.min(state.bestEpoch + o.patience, o.maxEpochs) - state.epoch);
      o.onEpoch?.({
        ...record,
        bestEpoch: state.bestEpoch,
        bestValDice: state.bestValDice,
        elapsed: state.elapsed,
        eta: Math.min(toEarly * perEpoch, leftInCall),
        etaMax: Math.min(Math.max(0, o.maxEpochs - state.epoch) * perEpoch, leftInCall),
      });
    }
  } finally {
    await engine.close();
  }
}

function initialState(images: readonly MaskedImage[], o: TrainOptions, C: number): RunState {
  const rng = new SeededRandom(o.seed);
  const split = splitByImage(images, o.validationFraction, rng);
  const byName = new Map(images.map((im) => [im.name, im]));
  const normalisation = channelStats(
    split.train.map((n) => byName.get(n)!),
    C,
  );
  const params = packMsdParams(initMsdWeights(C, o.depth, () => rng.gaussian(), normalisation));
  const size = msdParamLayout(C, o.depth).size;
  return {
    params,
    best: params.slice(),
    adam: { step: 0, m: new Float64Array(size), v: new Float64Array(size) },
    rng,
    split,
    normalisation,
    epoch: 0,
    bestEpoch: 0,
    bestValDice: -Infinity,
    elapsed: 0,
    history: [],
  };
}

/**
 * A seeded 80/20 split by whole image (crops of one image on both sides would leak). Class
 * pixels are spread very unevenly over images (in CoNSeP one training image holds 35% of its
 * pixels as inflammatory cells, others none), so a plain random split can leave validation
 * without the class or dominated by one image. Of several seeded draws, the one whose
 * validation class share is closest (in ratio) to the whole set's is kept.
 */
export function splitByImage(
  images: readonly MaskedImage[],
  validationFraction: number,
  rng: SeededRandom,
  draws = 32,
): { train: string[]; validation: string[] } {
  const nVal = Math.min(images.length - 1, Math.max(1, Math.round(validationFraction * images.length)));
  const ones = new Map(images.map((im) => [im.name, countOnes(im.mask)]));
  const pixels = new Map(images.map((im) => [im.name, im.width * im.height]));
  const sum = (names: string[], m: Map<string, number>) => names.reduce((s, n) => s + m.get(n)!, 0);
  const names = images.map((im) => im.name);
  const overall = sum(names, ones) / sum(names, pixels);
  let best: string[] = names;
  let bestScore = Infinity;
  for (let draw = 0; draw < draws; draw++) {
    const order = rng.shuffle([...names]);
    const validation = order.slice(0, nVal);
    const valOnes = sum(validation, ones);
    const trainOnes = sum(order.slice(nVal), ones);
    // Both sides need the class, when the data allow it; then the share closest to the overall.
    const share = valOnes / sum(validation, pixels);
    const score =
      (valOnes > 0 ? 0 : 2) +
      (trainOnes > 0 ? 0 : 2) +
      (overall > 0 && share > 0 ? Math.min(1, Math.abs(Math.log(share / overall))) : 1);
    if (score < bestScore) {
      bestScore = score;
      best = order;
    }
  }
  return { train: best.slice(nVal).sort(byNumber), validation: best.slice(0, nVal).sort(byNumber) };
}

function byNumber(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Per-channel mean and standard deviation over every pixel of the training images, on 0..255. */
export function channelStats(images: readonly MaskedImage[], C: number): MsdWeights['normalisation'] {
  const sum = new Float64Array(C);
  const sq = new Float64Array(C);
  let n = 0;
  for (const im of images) {
    for (let i = 0; i < im.rgb.length; i += C) {
      for (let c = 0; c < C; c++) {
        const v = im.rgb[i + c];
        sum[c] += v;
        sq[c] += v * v;
      }
    }
    n += im.width * im.height;
  }
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sq, (s, c) => Math.max(1e-3, Math.sqrt(Math.max(0, s / n - mean[c] * mean[c]))));
  return { mean, std };
}

function countOnes(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

/** A checksum that ties a checkpoint's JSON to its binary (they are written as two files). */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('training aborted', 'AbortError');
}

function encode(s: RunState, identity: RunIdentity): { json: string; binary: Uint8Array } {
  const n = s.params.length;
  const binary = new Uint8Array(2 * n * 4 + 2 * n * 8);
  new Float32Array(binary.buffer, 0, n).set(s.params);
  new Float32Array(binary.buffer, 4 * n, n).set(s.best);
  new Float64Array(binary.buffer, 8 * n, n).set(s.adam.m);
  new Float64Array(binary.buffer, 16 * n, n).set(s.adam.v);
  const meta: CheckpointMeta = {
    format: 'msd-train-checkpoint/1',
    identity,
    split: s.split,
    normalisation: s.normalisation,
    epoch: s.epoch,
    bestEpoch: s.bestEpoch,
    bestValDice: s.bestValDice,
    elapsed: s.elapsed,
    rngState: s.rng.state,
    adamStep: s.adam.step,
    // JSON has no NaN: epoch 0 has no training loss.
    history: s.history.map((h) => ({ ...h, loss: Number.isFinite(h.loss) ? h.loss : (null as unknown as number) })),
    binary: { params: 0, best: 4 * n, m: 8 * n, v: 16 * n, bytes: binary.byteLength, fnv1a: fnv1a(binary) },
  };
  return { json: JSON.stringify(meta, null, 1), binary };
}

function restore(saved: { json: string; binary: Uint8Array }, identity: RunIdentity): RunState {
  const meta = JSON.parse(saved.json) as CheckpointMeta;
  if (meta.format !== 'msd-train-checkpoint/1')
    throw new Error(`not a training checkpoint (format ${String(meta.format)})`);
  // Both sides' keys: a setting present in only one of them (hedJitter) differs too.
  const keys = new Set([...Object.keys(identity), ...Object.keys(meta.identity)]) as Set<keyof RunIdentity>;
  for (const key of keys) {
    if (meta.identity[key] !== identity[key]) {
      const show = (v: unknown) => (key === 'data' ? 'another dataset or class' : JSON.stringify(v));
      throw new Error(
        `the checkpoint was made with ${key} = ${show(meta.identity[key])}, this run has ${show(identity[key])}; ` +
          `use another checkpoint folder or the same settings`,
      );
    }
  }
  const n = msdParamLayout(identity.inputChannels, identity.depth).size;
  if (
    saved.binary.byteLength !== 24 * n ||
    saved.binary.byteLength !== meta.binary.bytes ||
    fnv1a(saved.binary) !== meta.binary.fnv1a
  ) {
    throw new Error(
      "the checkpoint's binary part does not belong to its JSON part (interrupted while saving?); " +
        'delete the checkpoint folder to start over',
    );
  }
  // Copy into aligned buffers: the caller's bytes may sit at any offset.
  const bytes = saved.binary.slice();
  const rng = new SeededRandom(0);
  rng.state = meta.rngState;
  return {
    params: new Float32Array(bytes.buffer, meta.binary.params, n).slice(),
    best: new Float32Array(bytes.buffer, meta.binary.best, n).slice(),
    adam: {
      step: meta.adamStep,
      m: new Float64Array(bytes.buffer, meta.binary.m, n).slice(),
      v: new Float64Array(bytes.buffer, meta.binary.v, n).slice(),
    },
    rng,
    split: meta.split,
    normalisation: meta.normalisation,
    epoch: meta.epoch,
    bestEpoch: meta.bestEpoch,
    bestValDice: meta.bestValDice,
    elapsed: meta.elapsed,
    history: meta.history.map((h) => ({ ...h, loss: h.loss ?? NaN })),
  };
}
