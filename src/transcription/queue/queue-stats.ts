import { Injectable } from '@nestjs/common';
import { Clock } from '../../database/clock.js';
import type { QueueStats } from './queue-stats.dto.js';
import { WorkIndex } from './work-index.js';

/** Readings are shared for this long, so scrapes and dashboards polling at once cost one query. */
const FRESH_MS = 2_000;

/** The transcription queue as the session documents describe it, across all instances. */
@Injectable()
export class QueueStatsReader {
  private last?: { at: number; stats: Promise<QueueStats> };

  constructor(
    private readonly workIndex: WorkIndex,
    private readonly clock: Clock,
  ) {}

  read(): Promise<QueueStats> {
    const now = this.clock.nowMs();
    if (!this.last || now - this.last.at > FRESH_MS) {
      const stats = this.measure(new Date(now));
      this.last = { at: now, stats };
      stats.catch(() => (this.last = undefined));
    }
    return this.last.stats;
  }

  private async measure(now: Date): Promise<QueueStats> {
    let queued = 0;
    let retrying = 0;
    let processing = 0;
    let oldest: Date | undefined;
    for await (const session of this.workIndex.pendingSessions()) {
      for (const answer of Object.values(session.answers ?? {})) {
        const status = answer.transcription_status;
        if (status !== 'queued' && status !== 'processing') continue;
        if (status === 'processing') processing++;
        else if (answer.next_attempt_at && answer.next_attempt_at > now) retrying++;
        else queued++;
        if (!oldest || answer.queued_at < oldest) oldest = answer.queued_at;
      }
    }
    return {
      queued,
      retrying,
      processing,
      oldest_queued_age_s: oldest ? Math.max(0, Math.round((now.getTime() - oldest.getTime()) / 100) / 10) : 0,
      measured_at: now.toISOString(),
    };
  }
}
