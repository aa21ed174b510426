import OpenAI from 'openai';
import type { ProviderSettings } from '../config/settings.js';

/**
 * The openai SDK client for OPENAI_API_KEY and OPENAI_BASE_URL, or undefined without a key.
 * Its own retries are off: each caller has a retry policy of its own (a streamed upload cannot be
 * replayed by the SDK, and scoring falls back to the local scorer).
 */
export function createOpenAiClient(provider: ProviderSettings, timeoutMs: number): OpenAI | undefined {
  if (!provider.apiKey) return undefined;
  return new OpenAI({ apiKey: provider.apiKey, baseURL: provider.baseUrl, maxRetries: 0, timeout: timeoutMs });
}
