import path from 'node:path';
import type { ClassSelection, LabelledImage } from './dataset.js';
import { maskClass } from './dataset.js';
import { folderCheckpointStore } from './checkpoint-folder.js';
import { threadedTrainEngine } from './train-threads.js';
import {
  TRAIN_DEFAULTS,
  trainMsd,
  type EpochProgress,
  type TrainOptions,
  type TrainResult,
} from '../core/training/trainer.js';

/**
 * One class's extractor trained (or resumed, or read back once stopped) from a checkpoint
 * folder, on worker threads: what `npm run train` does per class and what `npm run evaluate`
 * does per class and instance. A checkpoint that already stopped costs only its data loading.
 */

export type TrainExtractorOptions = Partial<Omit<TrainOptions, 'engine' | 'checkpoint'>> & {
  readonly threads: number;
  /** Folder of checkpoint.json + checkpoint.bin; created when missing. */
  readonly checkpoints: string;
  readonly log?: (line: string) => void;
};

export const clock = (s: number): string => {
  if (!Number.isFinite(s)) return '∞';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
};

export async function trainExtractor(
  all: readonly LabelledImage[],
  selection: ClassSelection,
  options: TrainExtractorOptions,
): Promise<TrainResult> {
  const { threads, checkpoints, log = console.log, ...train } = options;
  const images = maskClass(all, selection);
  const name = selection.name;
  return trainMsd(images, {
    ...TRAIN_DEFAULTS,
    ...train,
    engine: threadedTrainEngine(threads),
    checkpoint: folderCheckpointStore(path.resolve(checkpoints)),
    onEpoch: (p: EpochProgress) => {
      log(
        `${name} epoch ${String(p.epoch).padStart(3)}  loss ${p.loss.toFixed(4)}  val Dice ${p.valDice.toFixed(4)} ` +
          `(soft ${p.valSoftDice.toFixed(4)})` +
          `  best ${p.bestValDice.toFixed(4)} @${p.bestEpoch}  ${p.seconds.toFixed(1)} s  elapsed ` +
          `${clock(p.elapsed)}  ETA ${clock(p.eta)} (at most ${clock(p.etaMax)})`,
      );
      train.onEpoch?.(p);
    },
  });
}
