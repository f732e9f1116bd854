import { assert } from 'chai';
import {
  autosaveSupportSet,
  indexedDbTextStore,
  localStorageTextStore,
  restoreSupportSet,
  SupportSetStorageError,
  supportSetKey,
  type TextStore,
} from '../../../plugin/support/support-set-storage.js';
import { supportSetToText } from '../../../core/support-set/support-set-file.js';
import { SupportSetFileError } from '../../../core/support-set/support-set-file-error.js';
import { createSupportSet, type SupportSetStore } from '../../../core/support-set/support-set.js';
import { SeededRandom } from '../../../core/math/seeded-random.js';

const slide = { name: 'https://example.org/slides/case-17.svs', width: 20000, height: 15000, mpp: 0.5 };
const options = { slide, extractorMpp: 0.25 };

function painted(): SupportSetStore {
  const s = createSupportSet(options);
  const a = s.addPatch(s.originCentredAt(3000, 4000));
  s.paintStroke(a, { label: 'class', size: 14 }, [
    [20, 20],
    [180, 60],
    [90, 230],
  ]);
  s.fillPolygon(
    a,
    [
      [
        [0, 150],
        [100, 150],
        [100, 256],
        [0, 256],
      ],
    ],
    'ignore',
  );
  const b = s.addPatch(s.originCentredAt(12000, 9000));
  s.paintStroke(b, { label: 'class', size: 30 }, [[128, 128]]);
  s.paintStroke(b, { label: 'background', size: 6 }, [
    [0, 128],
    [256, 128],
  ]);
  return s;
}

/** Patches whose masks are label noise: their file is megabytes, for filling a quota. */
function heavy(patches: number): SupportSetStore {
  const s = createSupportSet(options);
  const random = new SeededRandom(9);
  s.replacePatches(
    Array.from({ length: patches }, (_, k) => ({
      id: `n${k}`,
      x: 200 * k,
      y: 0,
      scale: 0.5,
      mask: Uint8Array.from({ length: 256 * 256 }, () => [0, 1, 255][random.int(3)]),
    })),
  );
  return s;
}

const content = (s: SupportSetStore) =>
  s.patches.map((p) => ({ id: p.id, x: p.x, y: p.y, scale: p.scale, mask: Array.from(p.mask) }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A promise and the callback that settles it: tests wait on the autosave's own callbacks, never poll. */
function signal<T>(): { promise: Promise<T>; fire: (value: T) => void } {
  let fire!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (fire = resolve));
  return { promise, fire };
}

async function deleteDatabase(name: string, factory: IDBFactory = indexedDB): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = factory.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });
}

/** Chromium's storage buckets (not yet in TypeScript's DOM types): IndexedDB with a quota of its own. */
interface StorageBucket {
  readonly indexedDB: IDBFactory;
}
interface StorageBucketManager {
  open(name: string, options: { quota: number }): Promise<StorageBucket>;
  delete(name: string): Promise<void>;
}

describe('the support set saved in the browser', () => {
  for (const kind of ['indexeddb', 'localstorage'] as const) {
    it(`is saved after a burst of edits and restored by a new store after a reload (${kind})`, async () => {
      const databaseName = `fewshot-test-${kind}-${Math.random()}`;
      const storage: TextStore =
        kind === 'indexeddb' ? indexedDbTextStore({ databaseName }) : localStorageTextStore(`${databaseName}/`);
      try {
        const saves: number[] = [];
        const errors: unknown[] = [];
        const saved = signal<void>();
        const store = createSupportSet(options);
        const autosave = autosaveSupportSet(store, {
          storage,
          delayMs: 500,
          onSaved: ({ revision }) => {
            saves.push(revision);
            saved.fire();
          },
          onError: (e) => errors.push(e),
        });
        assert.equal(autosave.key, supportSetKey(slide));
        // A burst of edits, each quicker than the delay: one write at its end.
        const id = store.addPatch(store.originCentredAt(3000, 4000));
        for (let i = 0; i < 5; i++) {
          store.paintStroke(id, { label: 'class', size: 10 }, [
            [20 + 30 * i, 40],
            [20 + 30 * i, 200],
          ]);
          await sleep(10);
        }
        assert.isTrue(autosave.dirty);
        assert.deepEqual(saves, [], 'nothing written during the burst');
        await saved.promise;
        assert.deepEqual(saves, [store.revision], 'one save, of the latest revision');
        assert.isFalse(autosave.dirty);
        // Selecting is not an edit: nothing to save.
        store.select(null);
        await sleep(800);
        assert.lengthOf(saves, 1);
        // The rest of the session, then the page goes away straight after an edit.
        store.fillPolygon(
          id,
          [
            [
              [0, 0],
              [256, 0],
              [256, 20],
              [0, 20],
            ],
          ],
          'ignore',
        );
        const b = store.addPatch(store.originCentredAt(12000, 9000));
        store.paintStroke(b, { label: 'class', size: 30 }, [[128, 128]]);
        await autosave.flush();
        assert.isFalse(autosave.dirty);
        assert.deepEqual(errors, []);
        autosave.dispose();

        // "Reload": nothing survives but the storage.
        const {
          store: restored,
          restored: count,
          problem,
        } = await restoreSupportSet({
          ...options,
          storage: kind === 'indexeddb' ? indexedDbTextStore({ databaseName }) : storage,
        });
        assert.isNull(problem);
        assert.equal(count, 2);
        assert.deepEqual(content(restored), content(store));
        assert.isFalse(restored.canUndo, 'a restored set starts a fresh history');
        // The same slide reached by another URL finds it too; another slide does not.
        const other = await restoreSupportSet({
          ...options,
          slide: { ...slide, name: 'file:///home/me/case-17.svs' },
          storage,
        });
        assert.equal(other.restored, 2);
        const different = await restoreSupportSet({ ...options, slide: { ...slide, width: 20001 }, storage });
        assert.equal(different.restored, 0);
        assert.isNull(different.problem);
        assert.lengthOf(different.store.patches, 0);
      } finally {
        await storage.remove(supportSetKey(slide));
        if (kind === 'indexeddb') await deleteDatabase(databaseName);
      }
    });
  }

  it('edits that never pause are still saved within the longest wait', async () => {
    const storage = localStorageTextStore(`fewshot-test-maxwait-${Math.random()}/`);
    const store = createSupportSet(options);
    // The quiet time is never reached (a minute), so only the longest wait can save: edits go on
    // until the save's own callback says it happened, however slow the machine is.
    const saved = signal<number>();
    const autosave = autosaveSupportSet(store, {
      storage,
      delayMs: 60_000,
      maxWaitMs: 300,
      onSaved: ({ revision }) => saved.fire(revision),
    });
    try {
      const id = store.addPatch({ x: 0, y: 0 });
      let done = false;
      void saved.promise.then(() => (done = true));
      let edits = 0;
      while (!done) {
        store.paintStroke(id, { label: 'class', size: 3 }, [[Math.random() * 256, Math.random() * 256]]);
        edits++;
        await sleep(20);
      }
      const revision = await saved.promise;
      assert.isAbove(revision, 0, 'a save came while the edits kept coming');
      assert.isAtLeast(edits, 2);
      assert.isNotNull(await storage.read(supportSetKey(slide)), 'the record is written');
    } finally {
      autosave.dispose();
      await storage.remove(supportSetKey(slide));
    }
  });

  it(
    'a full IndexedDB quota is reported (onError, lastError, flush rejects) ' + 'and the last good save survives',
    async function () {
      const buckets = (navigator as unknown as { storageBuckets?: StorageBucketManager }).storageBuckets;
      assert.exists(buckets, 'Chromium offers storage buckets');
      const bucketName = `fewshot-quota-${Math.floor(Math.random() * 1e9)}`;
      // 1 MiB: a painted set fits, megabytes of label noise do not.
      const bucket = await buckets!.open(bucketName, { quota: 1024 * 1024 });
      try {
        const storage = indexedDbTextStore({ factory: bucket.indexedDB });
        const good = painted();
        const first = autosaveSupportSet(good, { storage });
        await first.flush();
        first.dispose();

        const big = heavy(12);
        assert.isAbove(supportSetToText(big.state()).length, 1024 * 1024);
        const errors: SupportSetStorageError[] = [];
        const failed = signal<void>();
        const autosave = autosaveSupportSet(big, {
          storage,
          delayMs: 50,
          onError: (e) => {
            errors.push(e);
            failed.fire();
          },
        });
        big.deletePatch('n0');
        await failed.promise;
        assert.lengthOf(errors, 1, 'the debounced save reported its failure');
        assert.instanceOf(errors[0], SupportSetStorageError);
        assert.equal(errors[0].code, 'quota');
        assert.match(errors[0].message, /quota is full.*not saved; export it to a file/);
        assert.equal(autosave.lastError, errors[0]);
        assert.isTrue(autosave.dirty);
        let rejected: unknown = null;
        await autosave.flush().catch((e) => (rejected = e));
        assert.instanceOf(rejected, SupportSetStorageError);
        assert.equal((rejected as SupportSetStorageError).code, 'quota');
        assert.lengthOf(errors, 2);
        autosave.dispose();

        const { store, problem } = await restoreSupportSet({ ...options, storage });
        assert.isNull(problem);
        assert.deepEqual(content(store), content(good), 'the failed write left the earlier record whole');
      } finally {
        await buckets!.delete(bucketName);
      }
    },
  );

  it('a full localStorage quota is reported', async () => {
    const prefix = `fewshot-test-quota-${Math.random()}/`;
    const storage = localStorageTextStore(prefix);
    // Chromium gives an origin about 5 M characters of localStorage.
    const big = heavy(50);
    const errors: SupportSetStorageError[] = [];
    const autosave = autosaveSupportSet(big, { storage, onError: (e) => errors.push(e) });
    try {
      let rejected: unknown = null;
      await autosave.flush().catch((e) => (rejected = e));
      assert.instanceOf(rejected, SupportSetStorageError);
      assert.equal((rejected as SupportSetStorageError).code, 'quota');
      assert.deepEqual(errors, [rejected]);
      assert.isTrue(autosave.dirty);
      assert.isNull(localStorage.getItem(prefix + supportSetKey(slide)));
    } finally {
      autosave.dispose();
      await storage.remove(supportSetKey(slide));
    }
  });

  it(
    'a database another version of the plugin upgraded ' + 'is reported as unavailable, on save and on restore',
    async () => {
      const databaseName = `fewshot-test-version-${Math.random()}`;
      await new Promise<void>((resolve, reject) => {
        const req = indexedDB.open(databaseName, 5);
        req.onsuccess = () => {
          req.result.close();
          resolve();
        };
        req.onerror = () => reject(req.error);
      });
      try {
        const storage = indexedDbTextStore({ databaseName });
        const errors: SupportSetStorageError[] = [];
        const autosave = autosaveSupportSet(painted(), { storage, onError: (e) => errors.push(e) });
        await autosave.flush().catch(() => undefined);
        autosave.dispose();
        assert.lengthOf(errors, 1);
        assert.equal(errors[0].code, 'unavailable');
        assert.match(errors[0].message, /did not open/);
        const { store, problem } = await restoreSupportSet({ ...options, storage });
        assert.instanceOf(problem, SupportSetStorageError);
        assert.lengthOf(store.patches, 0, 'the user can still work, on an empty set');
      } finally {
        await deleteDatabase(databaseName);
      }
    },
  );

  it('a saved record that fails the file checks is reported and not used', async () => {
    const databaseName = `fewshot-test-bad-${Math.random()}`;
    const storage = indexedDbTextStore({ databaseName });
    try {
      const text = JSON.parse(supportSetToText(painted().state()));
      text.patches[1].mask = 'AAAA';
      await storage.write(supportSetKey(slide), JSON.stringify(text));
      const { store, restored, problem } = await restoreSupportSet({ ...options, storage });
      assert.instanceOf(problem, SupportSetFileError);
      assert.equal((problem as SupportSetFileError).code, 'bad-mask');
      assert.equal(restored, 0);
      assert.lengthOf(store.patches, 0);
    } finally {
      await deleteDatabase(databaseName);
    }
  });
});
