import { type ConfigType, registerAs } from '@nestjs/config';
import { readEnvironment } from '../read-environment.js';
import { IntegerSetting } from '../setting-rules.js';

export class DeliveryEnvironment {
  /** A silence between words at least this long is a pause in the delivery measures. */
  @IntegerSetting(250, 10_000)
  DELIVERY_PAUSE_MS = 1000;
}

/** How an answer's delivery (pace, pauses) is measured. */
export const deliverySettings = registerAs('delivery', () => {
  const e = readEnvironment([DeliveryEnvironment]);
  return { pauseThresholdSeconds: e.DELIVERY_PAUSE_MS / 1000 };
});

export type DeliverySettings = ConfigType<typeof deliverySettings>;
