import type { ResponseFormatSetting } from '../config/settings.js';

/** What a transcription model accepts and answers, by model family. */
export interface TranscriptionCapabilities {
  family: 'gpt-transcribe' | 'gpt-4o-transcribe' | 'gpt-4o-transcribe-diarize' | 'whisper';
  /** verbose_json brings timed segments; OpenAI's gpt-* models refuse it. */
  responseFormat: 'json' | 'verbose_json';
  /** Takes a `keywords` list; otherwise hints go inside `prompt`, where the model takes one. */
  keywords: boolean;
  prompt: boolean;
  /** Takes a `languages` list of possible languages. */
  languages: boolean;
}

/**
 * The families, first match wins. Anything else is whisper-style: whisper-1 and the self-hosted
 * OpenAI-compatible servers (speaches, whisper.cpp's server), which answer verbose_json and take a prompt.
 */
const FAMILIES: { pattern: RegExp; capabilities: TranscriptionCapabilities }[] = [
  {
    pattern: /^gpt-transcribe\b/,
    capabilities: { family: 'gpt-transcribe', responseFormat: 'json', keywords: true, prompt: true, languages: true },
  },
  {
    pattern: /^gpt-4o(-mini)?-transcribe-diarize\b/,
    capabilities: {
      family: 'gpt-4o-transcribe-diarize',
      responseFormat: 'json',
      keywords: false,
      prompt: false,
      languages: false,
    },
  },
  {
    pattern: /^gpt-4o(-mini)?-transcribe\b/,
    capabilities: {
      family: 'gpt-4o-transcribe',
      responseFormat: 'json',
      keywords: false,
      prompt: true,
      languages: false,
    },
  },
];

const WHISPER_STYLE: TranscriptionCapabilities = {
  family: 'whisper',
  responseFormat: 'verbose_json',
  keywords: false,
  prompt: true,
  languages: false,
};

/** The capabilities of `model`, its response format as TRANSCRIPTION_RESPONSE_FORMAT says unless auto. */
export function transcriptionCapabilities(
  model: string,
  responseFormat: ResponseFormatSetting,
): TranscriptionCapabilities {
  const known = FAMILIES.find((f) => f.pattern.test(model))?.capabilities ?? WHISPER_STYLE;
  return responseFormat === 'auto' ? known : { ...known, responseFormat };
}

/** How a chat model is asked for a score. */
export interface ScoringCapabilities {
  /** Reasoning models spend tokens thinking: a larger max_completion_tokens, no temperature. */
  reasoning: boolean;
}

const REASONING = /^(o\d|gpt-5|gpt-6)/;

export function scoringCapabilities(model: string, kind: 'auto' | 'reasoning' | 'chat'): ScoringCapabilities {
  return { reasoning: kind === 'auto' ? REASONING.test(model) : kind === 'reasoning' };
}
