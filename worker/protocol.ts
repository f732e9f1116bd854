import type { PixelLevel, SlideDescription } from './pixel-source.js';
import type { SlideErrorCode } from './slide-error.js';

/**
 * Messages between the main thread and a worker. Every request carries an id; the worker
 * answers each with exactly one response of the same id (result or error), so the client can
 * settle its promise, and an 'abort' for that id makes the answer an 'aborted' error.
 */
export type WorkerRequest =
  | { readonly type: 'open'; readonly id: number; readonly slide: SlideDescription }
  | {
      readonly type: 'read';
      readonly id: number;
      readonly slideId: number;
      readonly level: number;
      readonly x: number;
      readonly y: number;
      readonly width: number;
      readonly height: number;
    }
  | { readonly type: 'close'; readonly id: number; readonly slideId: number }
  | { readonly type: 'abort'; readonly id: number };

export interface SlideInfo {
  readonly slideId: number;
  readonly name: string;
  readonly levels: readonly PixelLevel[];
  readonly mpp?: { readonly x: number; readonly y: number };
}

/** An error flattened for postMessage: class identity does not survive structured cloning. */
export interface WorkerError {
  readonly name: string;
  readonly message: string;
  readonly code?: SlideErrorCode;
  readonly file?: string;
}

export type WorkerResponse =
  | { readonly type: 'opened'; readonly id: number; readonly info: SlideInfo }
  | { readonly type: 'pixels'; readonly id: number; readonly pixels: Uint8Array }
  | { readonly type: 'closed'; readonly id: number }
  | { readonly type: 'error'; readonly id: number; readonly error: WorkerError };
