import type { ConfigService } from '@nestjs/config';
import OpenAI from 'openai';
import type { EnvironmentVariables } from '../config/environment.js';

/**
 * The openai SDK client for OPENAI_API_KEY and OPENAI_BASE_URL, or undefined without a key.
 * Its own retries are off: each caller has a retry policy of its own (a streamed upload cannot be
 * replayed by the SDK, and scoring falls back to the local scorer).
 */
export function createOpenAiClient(
  config: ConfigService<EnvironmentVariables, true>,
  timeoutMs: number,
): OpenAI | undefined {
  const apiKey = config.get('OPENAI_API_KEY', { infer: true });
  if (!apiKey) return undefined;
  return new OpenAI({
    apiKey,
    baseURL: config.get('OPENAI_BASE_URL', { infer: true }),
    maxRetries: 0,
    timeout: timeoutMs,
  });
}
