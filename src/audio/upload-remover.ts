import type { Filter } from 'mongodb';

/** The fields of a resumable upload's document that decide who may remove it (ResumableUpload's). */
interface RemovalFields {
  complete: boolean;
  lease_owner: string | null;
  lease_until: Date | null;
  expires_at: Date;
}

/**
 * Who may remove a resumable upload: its holder, by the token its lease names (a termination, first
 * bytes that are not audio); the cleanup, once it has expired and while no request holds it (a PATCH
 * begun before the expiry may still be writing: @tus/server checks expiry only when a PATCH starts);
 * an erasure, whatever its state (its writer stops at its next fenced write). Neither of the first
 * two removes a complete upload: its chunks are a file, and an answer may point at it. The one
 * exception is a completion refused (its session gone or closed, a newer answer, its audio gone),
 * by the request that holds the upload: only that holder attaches the upload's answer, and it has
 * found that it is not attached, so the file is nobody's.
 */
export type UploadRemover =
  { holder: string } | { expiredBefore: Date; now: Date } | { erasure: true } | { refusedBy: string };

/** The condition the upload's document must meet, at the moment of its delete, for `by` to remove it. */
export function removableBy(by: UploadRemover): Filter<RemovalFields> {
  if ('holder' in by) return { complete: false, lease_owner: by.holder };
  if ('refusedBy' in by) return { lease_owner: by.refusedBy };
  if ('erasure' in by) return {};
  // nobody holds it: the same test acquire() makes before it lets a request in
  const unheld = [{ lease_owner: null }, { lease_until: null }, { lease_until: { $lte: by.now } }];
  return { complete: false, expires_at: { $lt: by.expiredBefore }, $or: unheld };
}
