/**
 * Recordings kept on the device until the server has them: stored in IndexedDB the moment a
 * recording stops, before any upload, and removed only when the server's 202 carries the same
 * SHA-256. A closed tab, a crash, a reload or a lost network therefore never loses an answer.
 */

import { deviceStore } from './device-store';

export { DeviceStorageError } from './device-store';

export interface PendingRecording {
  userId: string;
  sessionId: string;
  questionId: string;
  sha256: string;
  recording: Blob;
  /** When the recording stopped (ms since the epoch): an answer uploaded later from elsewhere wins. */
  savedAt: number;
  /** The tus upload it is going to, once created: a reload resumes it instead of starting again. */
  uploadUrl?: string;
  /** `uploadUrl` was created with a deferred length (streamed while recording): its last PATCH says the length. */
  deferred?: boolean;
}

const DATABASE = 'interview-recordings';
const STORE = 'pending';

const QUOTA_SENTENCE =
  'This device has no room left to keep your recording safely; free some storage (or close other tabs), then record again.';
const UNAVAILABLE_SENTENCE =
  'This browser cannot keep recordings on the device (private mode?); keep this tab open until your answers are uploaded.';

const store = deviceStore(DATABASE, [STORE], { quota: QUOTA_SENTENCE, unavailable: UNAVAILABLE_SENTENCE });

export const keyOf = (r: Pick<PendingRecording, 'userId' | 'sessionId' | 'questionId'>) =>
  `${r.userId}\u0000${r.sessionId}\u0000${r.questionId}`;

const run = <T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T> | void): Promise<T> =>
  store.transaction(mode, work);

/** SHA-256 of the recording, hex, as the server reports it. */
export async function sha256Hex(recording: Blob): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', await recording.arrayBuffer()));
}

const hex = (digest: ArrayBuffer) => [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** As stored: the bytes themselves (every IndexedDB, real or not, keeps an ArrayBuffer), the Blob rebuilt on reading. */
type StoredRecording = Omit<PendingRecording, 'recording'> & { bytes: ArrayBuffer; type: string };

const toStored = ({ recording, ...rest }: PendingRecording, bytes: ArrayBuffer): StoredRecording => ({
  ...rest,
  bytes,
  type: recording.type,
});
const fromStored = ({ bytes, type, ...rest }: StoredRecording): PendingRecording => ({
  ...rest,
  recording: new Blob([bytes], { type }),
});

/** Keeps the recording on the device (replacing an older one for the same question). Throws a DeviceStorageError sentence. */
export async function keepRecording(entry: Omit<PendingRecording, 'sha256' | 'savedAt'>): Promise<PendingRecording> {
  const bytes = await entry.recording.arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  const pending: PendingRecording = { ...entry, sha256: hex(digest), savedAt: Date.now() };
  await run('readwrite', (store) => store.put(toStored(pending, bytes), keyOf(pending)));
  return pending;
}

export async function pendingRecordings(userId: string): Promise<PendingRecording[]> {
  const all = await run<StoredRecording[]>('readonly', (store) => store.getAll() as IDBRequest<StoredRecording[]>);
  return all.filter((r) => r.userId === userId).map(fromStored);
}

/** The recording kept for this question, if any (it may be a newer take than the one asked about). */
export async function keptRecording(
  of: Pick<PendingRecording, 'userId' | 'sessionId' | 'questionId'>,
): Promise<PendingRecording | null> {
  const stored = await run<StoredRecording | undefined>(
    'readonly',
    (store) => store.get(keyOf(of)) as IDBRequest<StoredRecording | undefined>,
  );
  return stored ? fromStored(stored) : null;
}

/** Remembers the tus upload a recording goes to, unless a newer recording took its place meanwhile. */
export async function rememberUploadUrl(pending: PendingRecording, uploadUrl: string, deferred = false): Promise<void> {
  await update(pending, (current) => ({ ...current, uploadUrl, deferred }));
}

/** Forgets the recording, only if the one stored is still the one with this hash (a newer one stays). */
export async function forgetRecording(
  pending: Pick<PendingRecording, 'userId' | 'sessionId' | 'questionId' | 'sha256'>,
) {
  await update(pending, () => null);
}

async function update(
  pending: Pick<PendingRecording, 'userId' | 'sessionId' | 'questionId' | 'sha256'>,
  change: (current: StoredRecording) => StoredRecording | null,
): Promise<void> {
  const key = keyOf(pending);
  await run('readwrite', (records) => {
    const read = records.get(key);
    read.onsuccess = () => {
      const current = read.result as StoredRecording | undefined;
      if (!current || current.sha256 !== pending.sha256) return;
      const next = change(current);
      if (next) records.put(next, key);
      else records.delete(key);
    };
  });
}
