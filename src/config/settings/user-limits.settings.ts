import { type ConfigType, registerAs } from '@nestjs/config';
import { readEnvironment } from '../read-environment.js';
import { IntegerSetting } from '../setting-rules.js';

export class UserLimitEnvironment {
  /** Sessions one user may keep (erased ones do not count); creating one more answers 409. */
  @IntegerSetting(1, 10_000_000)
  MAX_SESSIONS_PER_USER = 10_000;

  /** Server-Sent Event streams (GET /api/sessions/:id/events) one user may hold open at once, on all instances. */
  @IntegerSetting(1, 10_000)
  MAX_EVENT_STREAMS_PER_USER = 10;

  /** Uploads (multipart POSTs and tus PATCHes) one user may have in flight at once, on all instances. */
  @IntegerSetting(1, 10_000)
  MAX_CONCURRENT_UPLOADS_PER_USER = 4;

  /** A stream's or upload's lease row lives this long unless renewed; a crashed instance's leases lapse after it. */
  @IntegerSetting(200, 600_000)
  USER_LEASE_MS = 30_000;
}

/** What one user may keep (sessions) and hold at once (open event streams, uploads in flight), counted in the database. */
export const userLimitSettings = registerAs('userLimits', () => {
  const e = readEnvironment([UserLimitEnvironment]);
  return {
    sessions: e.MAX_SESSIONS_PER_USER,
    eventStreams: e.MAX_EVENT_STREAMS_PER_USER,
    uploads: e.MAX_CONCURRENT_UPLOADS_PER_USER,
    leaseMs: e.USER_LEASE_MS,
  };
});

export type UserLimitSettings = ConfigType<typeof userLimitSettings>;
