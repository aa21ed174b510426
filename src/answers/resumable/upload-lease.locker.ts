import { Logger } from '@nestjs/common';
import type { Lock, Locker } from '@tus/utils';
import { ObjectId } from 'mongodb';
import { randomUUID } from 'node:crypto';
import type { ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import type { Clock } from '../../database/clock.js';
import { tusError } from './tus-errors.js';

export const UPLOAD_BUSY =
  'Another request is writing this upload right now; wait for it to end (or ask HEAD for the offset) and send from there.';

/**
 * Holds an upload for one request across every instance: a lease on its document, renewed while
 * the request runs and named by a token that every progress write carries (the fence). A second
 * request for an upload that is held is refused with 423 rather than taking it over, so that two
 * writers never interleave; a holder that died lets go when its lease runs out.
 */
export class UploadLeaseLocker implements Locker {
  private readonly logger = new Logger(UploadLeaseLocker.name);
  /** Tokens of the uploads this process holds, for the store's fenced writes. */
  private readonly held = new Map<string, string>();

  constructor(
    private readonly documents: ResumableUploadDocuments,
    private readonly clock: Clock,
    private readonly leaseMs: number,
  ) {}

  tokenFor(id: string): string | undefined {
    return this.held.get(id);
  }

  newLock(id: string): Lock {
    let token: string | undefined;
    let renewal: NodeJS.Timeout | undefined;
    const objectId = ObjectId.isValid(id) && id.length === 24 ? new ObjectId(id) : null;
    return {
      lock: async () => {
        if (!objectId) return; // getUpload answers 404
        const candidate = randomUUID();
        const outcome = await this.documents.acquire(objectId, candidate, this.clock.now(), this.leaseMs);
        if (outcome === 'busy') throw tusError(423, UPLOAD_BUSY);
        if (outcome === 'missing') return; // a new upload (POST) or one that is gone (404 follows)
        token = candidate;
        this.held.set(id, candidate);
        renewal = setInterval(
          () => {
            const until = new Date(this.clock.now().getTime() + this.leaseMs);
            this.documents.renew(objectId, candidate, until).then(
              (still) => {
                if (!still) clearInterval(renewal);
              },
              (error: Error) => this.logger.warn(`could not renew the lease on upload ${id}: ${error.message}`),
            );
          },
          Math.max(250, Math.floor(this.leaseMs / 3)),
        );
        renewal.unref();
      },
      unlock: async () => {
        clearInterval(renewal);
        if (!objectId || !token) return;
        if (this.held.get(id) === token) this.held.delete(id);
        await this.documents.release(objectId, token).catch(() => undefined);
      },
    };
  }
}

/** For requests that only read an upload (HEAD): no hold, so an offset can be asked while a PATCH runs. */
export const readOnlyLocker: Locker = {
  newLock: () => ({ lock: () => Promise.resolve(), unlock: () => Promise.resolve() }),
};
