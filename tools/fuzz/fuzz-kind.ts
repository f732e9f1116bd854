/** One kind of user file the fuzzer mutates: seeds, a mutation, and the product's own reader. */
export interface FuzzKind {
  readonly name: string;
  /** Valid files to mutate (generated, never read from ../shared). */
  seeds(): Promise<readonly Uint8Array[]>;
  /** A mutant of a seed; random() is a seeded uniform [0, 1). */
  mutate(seed: Uint8Array, random: () => number): Uint8Array;
  /** Reads the bytes as the product does; resolves when accepted, rejects with the product's error. */
  check(bytes: Uint8Array, signal: AbortSignal): Promise<void>;
  /** Whether an error is one of the product's typed errors (with a code). */
  isTyped(error: unknown): boolean;
}
