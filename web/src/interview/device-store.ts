/**
 * An IndexedDB database of the app's own, opened for each transaction and closed after it, whose
 * failures reach the candidate as one sentence: the device is full ('quota'), or the browser keeps
 * nothing (no IndexedDB, private mode: 'unavailable').
 */

export class DeviceStorageError extends Error {
  override name = 'DeviceStorageError';
  constructor(
    message: string,
    readonly kind: 'quota' | 'unavailable',
  ) {
    super(message);
  }
}

export interface StorageSentences {
  quota: string;
  unavailable: string;
}

export interface DeviceStore {
  /**
   * Runs `work` on the stores (in the order they were named) in one transaction; resolves with the
   * result of the request it returns once the transaction has completed.
   */
  transaction<T>(mode: IDBTransactionMode, work: (...stores: IDBObjectStore[]) => IDBRequest<T> | void): Promise<T>;
}

/** Version 1 of `database`, with one object store per name in `stores` (out-of-line keys). */
export function deviceStore(database: string, stores: string[], sentences: StorageSentences): DeviceStore {
  const asSentence = (error: unknown) =>
    (error as DOMException | undefined)?.name === 'QuotaExceededError'
      ? new DeviceStorageError(sentences.quota, 'quota')
      : new DeviceStorageError(sentences.unavailable, 'unavailable');

  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      if (typeof indexedDB === 'undefined') {
        reject(new DeviceStorageError(sentences.unavailable, 'unavailable'));
        return;
      }
      const request = indexedDB.open(database, 1);
      request.onupgradeneeded = () => {
        for (const name of stores) request.result.createObjectStore(name);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(asSentence(request.error));
    });

  return {
    async transaction<T>(mode: IDBTransactionMode, work: (...stores: IDBObjectStore[]) => IDBRequest<T> | void) {
      const db = await open();
      try {
        return await new Promise<T>((resolve, reject) => {
          const tx = db.transaction(stores, mode);
          const request = work(...stores.map((name) => tx.objectStore(name)));
          tx.oncomplete = () => resolve(request ? request.result : (undefined as T));
          tx.onerror = () => reject(asSentence(tx.error));
          tx.onabort = () => reject(asSentence(tx.error));
        });
      } finally {
        db.close();
      }
    },
  };
}
