/**
 * Settings, declared once per domain: the index of settings/.
 *
 * Each file settings/<domain>.settings.ts holds everything about one domain (database, http, auth,
 * transcription, …):
 * - a class whose fields are the domain's environment variables, each with its rule and its
 *   message naming the variable (class-validator decorators; integers use IntegerSetting from
 *   setting-rules.ts) and its default as the field's initial value;
 * - the typed settings object the rest of the code injects, registered under the domain's key
 *   with @nestjs/config's registerAs (`@Inject(transcriptionSettings.KEY) settings:
 *   TranscriptionSettings`) and built by readEnvironment from that class, plus another domain's
 *   class where it uses one of its variables (scoring's maxWaitMs comes from HTTP_IDLE_TIMEOUT_MS);
 * - its rules across variables, if it has any (`authRules`).
 *
 * The domain classes are plain class-validator classes, composed rather than merged into one:
 * this file lists them, and validateEnvironment checks the whole environment once at boot
 * (main.ts, and ConfigModule through settings.module.ts), class after class and then the rules
 * across variables; the first problem stops start-up with one line naming the variable. No helper
 * builds the settings object from the declarations: it groups and derives values (retry.baseMs,
 * speechGuard.minSpeechSeconds from milliseconds), so it is written as plain code next to them.
 *
 * Adding a setting: a field in its domain's class (rule, message, default, and a comment saying
 * what it does), its line in that file's settings object, and its row in README's configuration
 * table. Adding a domain: a new file in settings/, listed in ENVIRONMENTS, ALL_SETTINGS and the
 * exports below (and in RULES if it has rules).
 */
import { ConfigurationError, type EnvironmentOf, type EnvironmentRule, readEnvironment } from './read-environment.js';
import { authRules, authSettings, AuthEnvironment } from './settings/auth.settings.js';
import { CleanupEnvironment, cleanupSettings } from './settings/cleanup.settings.js';
import { DatabaseEnvironment, databaseRules, databaseSettings } from './settings/database.settings.js';
import { DeliveryEnvironment, deliverySettings } from './settings/delivery.settings.js';
import { HttpEnvironment, httpSettings } from './settings/http.settings.js';
import { LiveEnvironment, liveSettings } from './settings/live.settings.js';
import { MetricsEnvironment, metricsSettings } from './settings/metrics.settings.js';
import { ProviderEnvironment, providerSettings } from './settings/provider.settings.js';
import { ScoringEnvironment, scoringSettings } from './settings/scoring.settings.js';
import { ServerEnvironment } from './settings/server.settings.js';
import { StorageEnvironment, storageSettings } from './settings/storage.settings.js';
import { TracingEnvironment, tracingSettings } from './settings/tracing.settings.js';
import { TranscriptionEnvironment, transcriptionSettings } from './settings/transcription.settings.js';
import { UserLimitEnvironment, userLimitSettings } from './settings/user-limits.settings.js';
import { WebhookEnvironment, webhookRules, webhookSettings } from './settings/webhooks.settings.js';

export { ConfigurationError };
export { authSettings, type AuthSettings } from './settings/auth.settings.js';
export { cleanupSettings, type CleanupSettings } from './settings/cleanup.settings.js';
export { databaseSettings, type DatabaseSettings } from './settings/database.settings.js';
export { deliverySettings, type DeliverySettings } from './settings/delivery.settings.js';
export { httpSettings, type HttpSettings } from './settings/http.settings.js';
export { liveSettings, type LiveSettings } from './settings/live.settings.js';
export { metricsSettings, type MetricsSettings } from './settings/metrics.settings.js';
export { providerSettings, type ProviderSettings } from './settings/provider.settings.js';
export { scoringSettings, type ScoringSettings } from './settings/scoring.settings.js';
export { storageSettings, type StorageSettings } from './settings/storage.settings.js';
export { tracingSettings, type TracingSettings } from './settings/tracing.settings.js';
export {
  type ResponseFormatSetting,
  transcriptionSettings,
  type TranscriptionSettings,
} from './settings/transcription.settings.js';
export { userLimitSettings, type UserLimitSettings } from './settings/user-limits.settings.js';
export { webhookSettings, type WebhookSettings } from './settings/webhooks.settings.js';

/** Every domain's variables, in the order they are checked. */
const ENVIRONMENTS = [
  ServerEnvironment,
  DatabaseEnvironment,
  HttpEnvironment,
  UserLimitEnvironment,
  AuthEnvironment,
  MetricsEnvironment,
  ProviderEnvironment,
  TranscriptionEnvironment,
  StorageEnvironment,
  ScoringEnvironment,
  DeliveryEnvironment,
  LiveEnvironment,
  CleanupEnvironment,
  WebhookEnvironment,
  TracingEnvironment,
] as const;

/** Every variable the server reads from its environment, typed, defaults filled in. */
export type EnvironmentVariables = EnvironmentOf<typeof ENVIRONMENTS>;

/** The rules across variables, checked in this order once every variable has passed its own. */
const RULES: EnvironmentRule<EnvironmentVariables>[] = [...authRules, ...webhookRules, ...databaseRules];

/** Every domain's settings, for ConfigModule.forRoot({ load }). */
export const ALL_SETTINGS = [
  databaseSettings,
  httpSettings,
  userLimitSettings,
  authSettings,
  metricsSettings,
  providerSettings,
  transcriptionSettings,
  storageSettings,
  scoringSettings,
  deliverySettings,
  liveSettings,
  cleanupSettings,
  webhookSettings,
  tracingSettings,
];

/**
 * Validates the raw environment and returns typed settings. Secrets are never echoed back.
 * Throws a ConfigurationError whose message is one line naming the variable.
 */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const env = readEnvironment(ENVIRONMENTS, raw);
  for (const rule of RULES) {
    const problem = rule(env);
    if (problem) throw new ConfigurationError(`Invalid configuration: ${problem}.`);
  }
  // the other variables pass through: ConfigModule writes what this returns into process.env,
  // which is how the lines of a .env file reach the code (and the SDKs) that read process.env
  return { ...raw, ...env };
}
