import type { TranscriptionRequest } from './recorded-request.js';

/** What the real endpoint allows per file (and what it answers above it). */
export const OPENAI_MAX_FILE_BYTES = 26_214_400;

/** The transcript the fake returns by default: derived from the audio bytes it received. */
export function expectedTranscript(sha256: string): string {
  return `transcript of ${sha256.slice(0, 16)}`;
}

/** An answer the endpoint gives instead of a transcript. */
export interface Refusal {
  status: number;
  body: unknown;
}

/**
 * What the real /v1/audio/transcriptions answers to a request it refuses before transcribing
 * anything (no API key, a file over the size limit, a parameter the model does not take), or
 * undefined when it takes the request.
 */
export function refusalOf(record: TranscriptionRequest, maxFileBytes: number): Refusal | undefined {
  if (!record.authorization?.startsWith('Bearer ')) {
    return { status: 401, body: { error: { message: 'Missing API key', type: 'invalid_request_error' } } };
  }
  if (record.bytes > maxFileBytes) {
    // the real endpoint's answer to an oversized file
    return {
      status: 413,
      body: {
        error: {
          message: `Maximum content size limit (${maxFileBytes}) exceeded (${record.bytes} bytes read)`,
          type: 'server_error',
          param: null,
          code: null,
        },
      },
    };
  }
  const refused = refusedParameter(record);
  if (refused) {
    return {
      status: 400,
      body: {
        error: {
          message: refused.message,
          type: 'invalid_request_error',
          param: refused.param,
          code: refused.code ?? 'unsupported_value',
        },
      },
    };
  }
  return undefined;
}

/**
 * What OpenAI's current models refuse, as the real endpoint answers it: gpt-* transcription models
 * answer json only; keywords and languages are gpt-transcribe's alone, and its keywords must be
 * single-line strings without "<" or ">" (OpenAI's documentation for gpt-transcribe).
 */
function refusedParameter(
  record: TranscriptionRequest,
): { message: string; param: string | null; code?: string } | undefined {
  const openAiGpt = /^gpt-/.test(record.model ?? '');
  if (openAiGpt && record.responseFormat && !['json', 'text'].includes(record.responseFormat)) {
    return {
      message: `response_format '${record.responseFormat}' is not compatible with model '${record.model}'. Use 'json' or 'text'.`,
      param: 'response_format',
    };
  }
  const gptTranscribe = /^gpt-transcribe/.test(record.model ?? '');
  if (!gptTranscribe && record.keywords) {
    return { message: `keywords is not supported with model '${record.model}'.`, param: 'keywords' };
  }
  if (!gptTranscribe && record.languages) {
    return { message: `languages is not supported with model '${record.model}'.`, param: 'languages' };
  }
  const bad = (record.keywords ?? []).findIndex((k) => /[\r\n<>]/.test(k));
  if (bad >= 0) {
    return {
      message: `Invalid 'keywords[${bad}]': keywords must be single-line strings and must not contain '<' or '>'.`,
      param: `keywords[${bad}]`,
      code: 'invalid_value',
    };
  }
  return undefined;
}

/**
 * The body of a 200: {text} for json; for verbose_json also language, duration and one segment
 * per started 30 s of audio (duration from ffprobe with probeAudio, else as if 16 kHz 16-bit PCM).
 */
export function transcriptionBody(record: TranscriptionRequest, text = expectedTranscript(record.sha256)) {
  if (record.responseFormat !== 'verbose_json') return { text };
  const duration = record.durationSeconds ?? Math.round((record.bytes / 32_000) * 100) / 100;
  const count = Math.max(1, Math.ceil(duration / 30));
  const segments = Array.from({ length: count }, (_, i) => ({
    id: i,
    start: i * 30,
    end: Math.min(duration, (i + 1) * 30),
    text: ` ${text} [${i}]`,
  }));
  return { task: 'transcribe', language: 'english', duration, text, segments };
}
