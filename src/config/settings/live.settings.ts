import { type ConfigType, registerAs } from '@nestjs/config';
import { readEnvironment } from '../read-environment.js';
import { IntegerSetting } from '../setting-rules.js';

export class LiveEnvironment {
  @IntegerSetting(50, 60_000)
  SESSION_WATCH_MS = 500;

  @IntegerSetting(100, 300_000)
  SSE_HEARTBEAT_MS = 15_000;
}

/** How live clients (SSE, waiting analyze calls) learn of changes. */
export const liveSettings = registerAs('live', () => {
  const e = readEnvironment([LiveEnvironment]);
  return { watchMs: e.SESSION_WATCH_MS, heartbeatMs: e.SSE_HEARTBEAT_MS };
});

export type LiveSettings = ConfigType<typeof liveSettings>;
