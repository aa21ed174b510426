import { Inject, Injectable } from '@nestjs/common';
import type { Types } from 'mongoose';
import { cleanupSettings, type CleanupSettings } from '../config/settings.js';
import { SessionEraser } from '../sessions/session-eraser.js';
import { SessionRepository } from '../sessions/session.repository.js';

export interface RetentionResult {
  files: number;
  chunks: number;
  /** Erasures that a crash had interrupted, finished now. */
  resumed: number;
  /** Sessions older than SESSION_RETENTION_DAYS, erased now. */
  expired: number;
  /** Webhook deliveries left of sessions that no longer exist, deleted now. */
  orphanDeliveries: number;
}

const BATCH = 200;

/** Finishes erasures a crash interrupted, then erases sessions past SESSION_RETENTION_DAYS. */
@Injectable()
export class SessionRetention {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly eraser: SessionEraser,
    @Inject(cleanupSettings.KEY) private readonly settings: CleanupSettings,
  ) {}

  async eraseSessions(now: Date): Promise<RetentionResult> {
    const result: RetentionResult = { files: 0, chunks: 0, resumed: 0, expired: 0, orphanDeliveries: 0 };
    const finish = async (id: Types.ObjectId) => {
      const erased = await this.eraser.finish(id);
      result.files += erased.files;
      result.chunks += erased.chunks;
    };
    const seen = new Set<string>(); // a session that refuses to go is not tried again in this run
    const next = async (kind: 'interrupted' | 'expired', cutoff: Date) =>
      (await this.sessions.idsToErase(kind, cutoff, BATCH)).filter((id) => !seen.has(String(id)));
    for (let ids; (ids = await next('interrupted', now)).length > 0;) {
      for (const id of ids) {
        seen.add(String(id));
        await finish(id);
        result.resumed++;
      }
    }
    if (this.settings.sessionRetentionMs !== undefined) await this.eraseExpired(now, next, finish, seen, result);
    result.orphanDeliveries = await this.eraser.sweepOrphanDeliveries();
    return result;
  }

  private async eraseExpired(
    now: Date,
    next: (kind: 'expired', cutoff: Date) => Promise<Types.ObjectId[]>,
    finish: (id: Types.ObjectId) => Promise<void>,
    seen: Set<string>,
    result: RetentionResult,
  ): Promise<void> {
    const cutoff = new Date(now.getTime() - this.settings.sessionRetentionMs!);
    for (let ids; (ids = await next('expired', cutoff)).length > 0;) {
      for (const id of ids) {
        seen.add(String(id));
        if (await this.sessions.markErasing(id, undefined, now)) {
          await finish(id);
          result.expired++;
        }
      }
    }
  }
}
