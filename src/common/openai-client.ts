import OpenAI from 'openai';
import type { ProviderSettings } from '../config/settings.js';

/** Sent as the key to a self-hosted server that needs none (the SDK insists on one). */
const NO_KEY = 'no-key';

/** The sentence for an instance without a provider: answers wait, nothing is lost. */
export const NO_PROVIDER =
  'No transcription provider is configured (set OPENAI_API_KEY, or OPENAI_BASE_URL for a self-hosted server): ' +
  'the answer waits queued and is transcribed once one is configured and the server restarts.';

/** Whether a provider is configured: a key for OpenAI, or the base URL of a self-hosted server. */
export const providerConfigured = (provider: ProviderSettings) => Boolean(provider.apiKey || provider.baseUrl);

/**
 * The openai SDK client for OPENAI_API_KEY and OPENAI_BASE_URL, or undefined without either
 * (`keyless`: a base URL alone is enough, for a self-hosted server; otherwise a key is needed).
 * Its own retries are off: each caller has a retry policy of its own (a streamed upload cannot be
 * replayed by the SDK, and scoring falls back to the local scorer).
 */
export function createOpenAiClient(
  provider: ProviderSettings,
  timeoutMs: number,
  { keyless = false } = {},
): OpenAI | undefined {
  if (!provider.apiKey && !(keyless && provider.baseUrl)) return undefined;
  return new OpenAI({
    apiKey: provider.apiKey ?? NO_KEY,
    baseURL: provider.baseUrl,
    maxRetries: 0,
    timeout: timeoutMs,
  });
}
