/**
 * Recordings while they are being made: every MediaRecorder chunk (one a second) is appended to
 * IndexedDB the moment it arrives, under the user, session, question and attempt (one per press of
 * Record). A reload, a crashed tab or a dead battery mid-answer therefore leaves what was said on
 * the device; the next page finds it (`unfinishedTakes`) and offers to keep it or record again.
 * A take is forgotten once its recording is handed over whole (pending-recordings keeps it from
 * there) or discarded. Kept apart from pending-recordings' database so neither has to be upgraded.
 */

import { deviceStore } from './device-store';

export interface TakeKey {
  userId: string;
  sessionId: string;
  questionId: string;
  /** One per press of Record: a take replaces none, it is forgotten when handed over or discarded. */
  attempt: string;
}

export interface LiveTake extends TakeKey {
  mimeType: string;
  startedAt: number;
  /** How long the recording ran, as far as the chunks kept tell (ms). */
  durationMs: number;
  chunks: number;
  bytes: number;
  /** The tus upload (deferred length) the chunks are streamed to, once created. */
  uploadUrl?: string;
}

const DATABASE = 'interview-live-recordings';
const TAKES = 'takes';
const CHUNKS = 'chunks';

const QUOTA_SENTENCE =
  'This device has no room left to keep the answer while you record; recording goes on, but a reload would lose it.';
const UNAVAILABLE_SENTENCE =
  'This browser cannot keep the answer on the device while you record (private mode?); recording goes on, but a reload would lose it.';

const store = deviceStore(DATABASE, [TAKES, CHUNKS], { quota: QUOTA_SENTENCE, unavailable: UNAVAILABLE_SENTENCE });

export const takeKeyOf = (t: TakeKey) => `${t.userId}\u0000${t.sessionId}\u0000${t.questionId}\u0000${t.attempt}`;
/** Chunk keys sort as their index does: the take's key, then the index in fixed width. */
const chunkKey = (take: string, index: number) => `${take}\u0000${String(index).padStart(8, '0')}`;
const chunksOf = (take: string) => IDBKeyRange.bound(`${take}\u0000`, `${take}\u0000\uffff`);

const transaction = <T>(
  mode: IDBTransactionMode,
  work: (takes: IDBObjectStore, chunks: IDBObjectStore) => IDBRequest<T> | void,
): Promise<T> => store.transaction(mode, work);

/** Starts a take (nothing recorded yet). Throws a DeviceStorageError sentence. */
export async function beginTake(take: TakeKey & { mimeType: string; startedAt: number }): Promise<void> {
  const row: LiveTake = { ...take, durationMs: 0, chunks: 0, bytes: 0 };
  await transaction('readwrite', (takes) => void takes.put(row, takeKeyOf(take)));
}

/**
 * Appends the take's chunk number `index` (0, 1, …), in one transaction with the take's totals.
 * Call in order, one at a time. Throws a DeviceStorageError sentence (a full device: 'quota').
 */
export async function appendChunk(take: TakeKey, index: number, chunk: Blob, durationMs: number): Promise<void> {
  const bytes = await chunk.arrayBuffer();
  const key = takeKeyOf(take);
  await transaction('readwrite', (takes, chunks) => {
    chunks.put(bytes, chunkKey(key, index));
    const read = takes.get(key);
    read.onsuccess = () => {
      const row = read.result as LiveTake | undefined;
      if (!row) return; // forgotten meanwhile (handed over, discarded): the chunk goes with the next removal
      takes.put({ ...row, chunks: index + 1, bytes: row.bytes + bytes.byteLength, durationMs }, key);
    };
  });
}

/** Remembers the tus upload the take streams to, so a later page can resume it or terminate it. */
export async function rememberTakeUpload(take: TakeKey, uploadUrl: string): Promise<void> {
  const key = takeKeyOf(take);
  await transaction('readwrite', (takes) => {
    const read = takes.get(key);
    read.onsuccess = () => {
      const row = read.result as LiveTake | undefined;
      if (row) takes.put({ ...row, uploadUrl }, key);
    };
  });
}

/** The user's takes left unfinished on this device (a reload or crash mid-answer), oldest first. */
export async function unfinishedTakes(userId: string): Promise<LiveTake[]> {
  const all = await transaction<LiveTake[]>('readonly', (takes) => takes.getAll() as IDBRequest<LiveTake[]>);
  return all.filter((t) => t.userId === userId).sort((a, b) => a.startedAt - b.startedAt);
}

/** The take's recording as kept: its chunks in order, exactly the bytes the recorder gave. */
export async function recordingOf(take: LiveTake): Promise<Blob> {
  const parts = await transaction<ArrayBuffer[]>(
    'readonly',
    (_, chunks) => chunks.getAll(chunksOf(takeKeyOf(take))) as IDBRequest<ArrayBuffer[]>,
  );
  return new Blob(parts, { type: take.mimeType });
}

/** Forgets the take and its chunks (handed over whole, or discarded). */
export async function forgetTake(take: TakeKey): Promise<void> {
  const key = takeKeyOf(take);
  await transaction('readwrite', (takes, chunks) => {
    takes.delete(key);
    chunks.delete(chunksOf(key));
  });
}
