import { parseSupportSet, slideBaseName, supportSetToText } from '../../core/support-set/support-set-file.js';
import { SupportSetFileError } from '../../core/support-set/support-set-file-error.js';
import {
  createSupportSet,
  DEFAULT_PATCH_SIZE,
  type SlideIdentity,
  type SupportSetChange,
  type SupportSetOptions,
  type SupportSetStore,
} from '../../core/support-set/support-set.js';

/**
 * The support set saved in the browser as the user works, and restored when the page reloads
 * (docs/ARCHITECTURE.md#data-flow, step 3: saved locally so a reload loses nothing). The record is the
 * support set file's text (support-set-file.ts), one per slide, so what is restored passes the
 * same checks as an imported file.
 */

/** Where records are kept: IndexedDB by default; localStorage where IndexedDB is missing. */
export interface TextStore {
  readonly kind: string;
  read(key: string): Promise<string | null>;
  write(key: string, text: string): Promise<void>;
  remove(key: string): Promise<void>;
}

export type SupportSetStorageErrorCode = 'quota' | 'unavailable' | 'failed';

export class SupportSetStorageError extends Error {
  readonly code: SupportSetStorageErrorCode;

  constructor(code: SupportSetStorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(`Support set storage: ${message}`, options);
    this.name = 'SupportSetStorageError';
    this.code = code;
  }
}

function isQuotaError(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  // Firefox's localStorage reports NS_ERROR_DOM_QUOTA_REACHED; old WebKit code 22.
  return (
    name === 'QuotaExceededError' ||
    name === 'NS_ERROR_DOM_QUOTA_REACHED' ||
    (err as { code?: number } | null)?.code === 22
  );
}

function failure(action: string, key: string, err: unknown, bytes?: number): SupportSetStorageError {
  if (err instanceof SupportSetStorageError) return err;
  if (isQuotaError(err)) {
    return new SupportSetStorageError(
      'quota',
      `the browser's storage quota is full, ` +
        `so the support set (${bytes === undefined ? '' : `${Math.ceil(bytes / 1024)} KiB, `}key ${key}) ` +
        `was not saved; export it to a file, or free space used by this site`,
      { cause: err },
    );
  }
  return new SupportSetStorageError('failed', `could not ${action} ${key}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  });
}

const DATABASE_VERSION = 1;
const OBJECT_STORE = 'support-sets';

export interface IndexedDbOptions {
  readonly databaseName?: string;
  /**
   * Default the origin's `indexedDB`; e.g. a storage bucket's (`navigator.storageBuckets`) to give the records their
   * own quota.
   */
  readonly factory?: IDBFactory;
}

/** Records in an IndexedDB database (one object store, keys out of line). */
export function indexedDbTextStore(options: IndexedDbOptions = {}): TextStore {
  const databaseName = options.databaseName ?? 'openseadragon-fewshot';
  let opening: Promise<IDBDatabase> | null = null;
  const open = (): Promise<IDBDatabase> => {
    if (opening) return opening;
    opening = new Promise<IDBDatabase>((resolve, reject) => {
      const factory = options.factory ?? (typeof indexedDB === 'undefined' ? undefined : indexedDB);
      if (!factory) {
        reject(new SupportSetStorageError('unavailable', 'this browser context has no IndexedDB'));
        return;
      }
      const req = factory.open(databaseName, DATABASE_VERSION);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(OBJECT_STORE)) req.result.createObjectStore(OBJECT_STORE);
      };
      let refused = false;
      req.onsuccess = () => {
        const db = req.result;
        if (refused) {
          db.close();
          return;
        }
        // Another tab upgrading or deleting the database: let it, and reopen on the next save.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        db.onclose = () => {
          opening = null;
        };
        resolve(db);
      };
      req.onerror = () =>
        reject(
          new SupportSetStorageError('unavailable', `IndexedDB ${databaseName} did not open: ${req.error?.message}`, {
            cause: req.error,
          }),
        );
      req.onblocked = () => {
        refused = true;
        reject(
          new SupportSetStorageError(
            'unavailable',
            `IndexedDB ${databaseName} is held at an older version by another tab`,
          ),
        );
      };
    });
    opening.catch(() => {
      opening = null;
    });
    return opening;
  };
  const transact = async (
    mode: IDBTransactionMode,
    work: (store: IDBObjectStore) => IDBRequest | void,
  ): Promise<unknown> => {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(OBJECT_STORE, mode);
      const req = work(tx.objectStore(OBJECT_STORE));
      // Ask for the commit now rather than when this page next runs a task: a tab closed right
      // after a save still commits it (the database has the whole request and the commit). The
      // record is one put in one transaction, so what is stored is the old text or the new one.
      if (mode === 'readwrite') tx.commit?.();
      // A write is saved only when its transaction commits: quota errors surface as an abort.
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
      tx.onerror = (event) => event.preventDefault();
    });
  };
  return {
    kind: 'indexeddb',
    async read(key) {
      try {
        const value = await transact('readonly', (s) => s.get(key));
        return typeof value === 'string' ? value : null;
      } catch (err) {
        throw failure('read', key, err);
      }
    },
    async write(key, text) {
      try {
        await transact('readwrite', (s) => s.put(text, key));
      } catch (err) {
        throw failure('save', key, err, text.length);
      }
    },
    async remove(key) {
      try {
        await transact('readwrite', (s) => s.delete(key));
      } catch (err) {
        throw failure('remove', key, err);
      }
    },
  };
}

/** Records in localStorage (synchronous, so a save started while the page unloads completes; ~5 MB per origin). */
export function localStorageTextStore(prefix = 'openseadragon-fewshot/'): TextStore {
  const storage = (): Storage => {
    try {
      if (typeof localStorage !== 'undefined' && localStorage) return localStorage;
    } catch (err) {
      // Reading the property itself throws where the user blocked site data.
      throw new SupportSetStorageError('unavailable', `localStorage is blocked here (${(err as Error).message})`, {
        cause: err,
      });
    }
    throw new SupportSetStorageError('unavailable', 'this browser context has no localStorage');
  };
  return {
    kind: 'localstorage',
    async read(key) {
      try {
        return storage().getItem(prefix + key);
      } catch (err) {
        throw failure('read', key, err);
      }
    },
    async write(key, text) {
      try {
        storage().setItem(prefix + key, text);
      } catch (err) {
        throw failure('save', key, err, text.length);
      }
    },
    async remove(key) {
      try {
        storage().removeItem(prefix + key);
      } catch (err) {
        throw failure('remove', key, err);
      }
    },
  };
}

export function defaultTextStore(): TextStore {
  return typeof indexedDB !== 'undefined' ? indexedDbTextStore() : localStorageTextStore();
}

/**
 * The record's key: the slide's file name and level-0 size (the same identity an imported file
 * is checked against), so the same slide reopened from another URL finds its support set.
 */
export function supportSetKey(slide: SlideIdentity): string {
  return `support-set/${slideBaseName(slide.name)}/${slide.width}x${slide.height}`;
}

export interface AutosaveOptions {
  readonly storage?: TextStore;
  /** Quiet time after the last change before saving (ms). Default 800. */
  readonly delayMs?: number;
  /** Longest a change waits while edits keep coming (ms). Default 5000. */
  readonly maxWaitMs?: number;
  /** Every failed save, as it happens. */
  readonly onError?: (error: SupportSetStorageError) => void;
  readonly onSaved?: (saved: { readonly revision: number; readonly bytes: number }) => void;
}

export interface Autosave {
  readonly storage: TextStore;
  readonly key: string;
  /** The store revision last written (−1 before the first save). */
  readonly savedRevision: number;
  /** True when there are changes not yet written. */
  readonly dirty: boolean;
  /** The error of the latest save, null once a save succeeds again. */
  readonly lastError: SupportSetStorageError | null;
  /** Writes now if anything is unsaved; rejects with the SupportSetStorageError if the write fails. */
  flush(): Promise<void>;
  /** Stops saving (call flush first to keep the last changes). */
  dispose(): void;
}

/**
 * Saves `store` after each burst of changes, and when the page is hidden or unloaded (where a
 * document exists). Failures — a full quota above all — go to onError and lastError and are
 * retried with the next change; they are never dropped silently.
 */
export function autosaveSupportSet(store: SupportSetStore, options: AutosaveOptions = {}): Autosave {
  const storage = options.storage ?? defaultTextStore();
  const delay = options.delayMs ?? 800;
  const maxWait = options.maxWaitMs ?? 5000;
  const key = supportSetKey(store.slide);
  let savedRevision = -1;
  let lastError: SupportSetStorageError | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let firstUnsaved = 0;
  let writing: Promise<void> = Promise.resolve();
  let disposed = false;

  const write = async (): Promise<void> => {
    const revision = store.revision;
    if (revision <= savedRevision) return;
    const text = supportSetToText(store.state());
    try {
      await storage.write(key, text);
    } catch (err) {
      const error = err instanceof SupportSetStorageError ? err : failure('save', key, err, text.length);
      lastError = error;
      options.onError?.(error);
      throw error;
    }
    savedRevision = Math.max(savedRevision, revision);
    lastError = null;
    options.onSaved?.({ revision, bytes: text.length });
  };

  const save = (): Promise<void> => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    // Chained, so writes land in revision order and never overlap.
    const next = writing.then(write);
    writing = next.catch(() => undefined);
    return next;
  };

  /**
   * The page is going away: write the newest state now, not behind a write still in flight
   * (its transaction may be the last thing this page finishes). IndexedDB runs readwrite
   * transactions on one store in the order they were created, and localStorage writes at once,
   * so the newer text still lands last.
   */
  const saveNow = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (store.revision === savedRevision) return;
    const now = write();
    writing = Promise.all([writing, now.catch(() => undefined)]).then(() => undefined);
    now.catch(() => undefined);
  };

  const schedule = () => {
    const now = Date.now();
    if (timer === null) firstUnsaved = now;
    else clearTimeout(timer);
    const wait = Math.max(0, Math.min(delay, firstUnsaved + maxWait - now));
    timer = setTimeout(() => {
      // Already reported through onError; the next change retries.
      save().catch(() => undefined);
    }, wait);
  };

  const onChange = ({ detail: change }: CustomEvent<SupportSetChange>) => {
    if (change.type !== 'select' && !disposed) schedule();
  };
  store.addEventListener('change', onChange);
  const onHide = () => {
    if (document.visibilityState === 'hidden') saveNow();
  };
  const onPageHide = () => saveNow();
  const hasDocument = typeof document !== 'undefined' && typeof window !== 'undefined';
  if (hasDocument) {
    document.addEventListener('visibilitychange', onHide);
    window.addEventListener('pagehide', onPageHide);
  }

  return {
    storage,
    key,
    get savedRevision() {
      return savedRevision;
    },
    get dirty() {
      return store.revision !== savedRevision;
    },
    get lastError() {
      return lastError;
    },
    flush: save,
    dispose() {
      disposed = true;
      store.removeEventListener('change', onChange);
      if (timer !== null) clearTimeout(timer);
      timer = null;
      if (hasDocument) {
        document.removeEventListener('visibilitychange', onHide);
        window.removeEventListener('pagehide', onPageHide);
      }
    },
  };
}

export interface RestoreResult {
  readonly store: SupportSetStore;
  /** Patches restored (0 when nothing was saved for this slide). */
  readonly restored: number;
  /**
   * Why a saved record could not be used (unreadable storage, or a record that fails the file
   * checks); the store then starts empty and the record stays until the next save replaces it.
   */
  readonly problem: SupportSetStorageError | SupportSetFileError | null;
}

/** A store for this slide, filled with what was saved for it, if anything. */
export async function restoreSupportSet(
  options: Omit<SupportSetOptions, 'patches'> & { readonly storage?: TextStore },
): Promise<RestoreResult> {
  const storage = options.storage ?? defaultTextStore();
  const { storage: _unused, ...storeOptions } = options;
  let text: string | null;
  try {
    text = await storage.read(supportSetKey(options.slide));
  } catch (err) {
    const problem = err instanceof SupportSetStorageError ? err : failure('read', supportSetKey(options.slide), err);
    return { store: createSupportSet(storeOptions), restored: 0, problem };
  }
  if (text === null) return { store: createSupportSet(storeOptions), restored: 0, problem: null };
  try {
    const state = parseSupportSet(text, {
      slide: options.slide,
      extractorMpp: options.extractorMpp,
      patchSize: options.patchSize ?? DEFAULT_PATCH_SIZE,
    });
    return {
      store: createSupportSet({ ...storeOptions, patches: state.patches }),
      restored: state.patches.length,
      problem: null,
    };
  } catch (err) {
    if (!(err instanceof SupportSetFileError)) throw err;
    return { store: createSupportSet(storeOptions), restored: 0, problem: err };
  }
}
