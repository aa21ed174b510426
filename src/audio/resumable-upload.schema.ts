import type { Binary, ObjectId } from 'mongodb';

/** The shape of a resumable upload's document in `resumable_uploads`, and what its readers take of it. */
export const RESUMABLE_UPLOADS = 'resumable_uploads';

/**
 * An unfinished resumable upload: what resuming it needs. Its full chunks are already GridFS chunks
 * (`files_id` = `_id`, `n` = index), its first bytes included while their format is not recognised
 * yet; only the bytes after the last full chunk (`tail`, shorter than a chunk) live here. `offset` =
 * next_n * chunk_size + tail length, always: it is written in one update with the chunk count it
 * covers. (Uploads begun by an earlier version may hold their whole unjudged head in `tail`.)
 */
export interface ResumableUpload {
  _id: ObjectId;
  user_id: string;
  session_id: ObjectId;
  question_id: string;
  /**
   * The recording's length in bytes; null while it is deferred (tus creation-defer-length: created
   * with Upload-Defer-Length: 1, the length sent with a later PATCH). Never complete while null.
   */
  size: number | null;
  offset: number;
  next_n: number;
  chunk_size: number;
  tail: Binary;
  /**
   * Saved SHA-256 state over exactly the first `next_n` chunks (hash-wasm's format), written in the
   * same update as `next_n`; absent in uploads begun before it was kept (their chunks are hashed again).
   */
  hash_state?: Binary | null;
  metadata: Record<string, string | null>;
  format: { extension: string; content_type: string } | null;
  /** While `format` is unknown: the offset at which the first bytes can be judged (absent: AUDIO_SNIFF_BYTES). */
  judge_at?: number | null;
  created_at: Date;
  expires_at: Date;
  /** Set once the last byte is in and the GridFS files document is written. */
  complete: boolean;
  sha256: string | null;
  /** The answer id the files document names, chosen when the upload completed. */
  answer_id: string | null;
  /**
   * The answer the question held when the upload completed (null: none). A completion finished
   * later replaces only that one, so it never overwrites a newer answer, nor takes its own answer
   * in twice. Absent in uploads completed before it was kept.
   */
  replaces?: string | null;
  lease_owner: string | null;
  lease_until: Date | null;
}

export type LeaseOutcome = 'held' | 'busy' | 'missing';

/** What a progress record may set; `offset` = next_n * chunk_size + tail length, always. */
export type UploadProgress = Partial<
  Pick<
    ResumableUpload,
    'offset' | 'next_n' | 'format' | 'judge_at' | 'complete' | 'sha256' | 'answer_id' | 'replaces' | 'lease_until'
  >
> & { tail?: Buffer; hash_state?: Uint8Array };

/** What HEAD (and the owner check of every request) reads: never the tail or the hash state. */
export const HEAD_FIELDS = {
  user_id: 1,
  size: 1,
  offset: 1,
  complete: 1,
  created_at: 1,
  metadata: 1,
  lease_owner: 1,
  lease_until: 1,
} as const;
export type UploadHead = Pick<ResumableUpload, '_id' | keyof typeof HEAD_FIELDS>;

/** A chunk index already taken: the unique {files_id, n} index refused the insert. */
export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: number }).code === 11000;
}
