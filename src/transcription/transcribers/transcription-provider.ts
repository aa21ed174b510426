import { Inject, Injectable } from '@nestjs/common';
import OpenAI, { toStreamingFile } from 'openai';
import type { Readable } from 'node:stream';
import { transcriptionCapabilities, type TranscriptionCapabilities } from '../../common/model-capabilities.js';
import { createOpenAiClient, NO_PROVIDER } from '../../common/openai-client.js';
import {
  providerSettings,
  transcriptionSettings,
  type ProviderSettings,
  type TranscriptionSettings,
} from '../../config/settings.js';
import { ServiceMetrics } from '../../metrics/service-metrics.js';
import { SpanKind, traceHeaders, withSpan } from '../../tracing/spans.js';
import { TranscriptionFailure } from '../recording/retry-policy.js';
import type { SpeechReading } from '../speech/speech-meter.js';
import { DISFLUENCY_PROMPT } from './disfluency-prompt.js';
import { hintParameters } from './interview-hints.js';
import type { InterviewHints } from '../recording/transcription-task.js';

export interface AudioForTranscription {
  stream: Readable;
  /** The provider recognises the container by the file name's extension. */
  filename: string;
  contentType: string;
}

export interface TranscriptionResult {
  text: string;
  /** As the provider detected and names it (whisper-1 says "english"); null when it does not say. */
  language: string | null;
  duration_seconds: number | null;
  segments: { start: number; end: number; text: string }[] | null;
  /** The speech guard's reading, when the transcriber measured it on its own pass (large recordings). */
  reading?: SpeechReading | null;
  /** The provider refused the interview's hints, so (some of) the audio was transcribed without them. */
  withoutHints?: boolean;
}

/** The one place that talks to the transcription provider, through the official openai SDK. */
@Injectable()
export class TranscriptionProvider {
  private readonly client?: OpenAI;
  private readonly model: string;
  private readonly language?: string;
  readonly capabilities: TranscriptionCapabilities;
  readonly timeoutMs: number;

  constructor(
    @Inject(transcriptionSettings.KEY) settings: TranscriptionSettings,
    @Inject(providerSettings.KEY) provider: ProviderSettings,
    private readonly metrics: ServiceMetrics,
  ) {
    this.model = settings.model;
    this.language = settings.language;
    this.capabilities = transcriptionCapabilities(settings.model, settings.responseFormat);
    this.timeoutMs = settings.timeoutMs;
    // the job's retry policy retries, re-reading the audio from GridFS
    this.client = createOpenAiClient(provider, this.timeoutMs, { keyless: true });
  }

  /** Whether a provider is configured (OPENAI_API_KEY, or OPENAI_BASE_URL alone for a self-hosted server). */
  get configured(): boolean {
    return this.client !== undefined;
  }

  /** Fails at once, before any audio is read, when nothing could be transcribed anyway (answers are not claimed then). */
  assertConfigured(): void {
    if (!this.client) throw new TranscriptionFailure(NO_PROVIDER, 'transient');
  }

  /**
   * transcribe() under TRANSCRIPTION_TIMEOUT_MS: a provider that does not answer in time is a
   * transient failure saying so (unless `signal` stopped the call first).
   */
  async transcribeWithin(
    audio: AudioForTranscription,
    signal: AbortSignal,
    hints?: InterviewHints,
  ): Promise<TranscriptionResult> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    try {
      return await this.transcribe(audio, AbortSignal.any([signal, deadline]), hints);
    } catch (error) {
      if (!signal.aborted && deadline.aborted) {
        throw new TranscriptionFailure(
          `The transcription provider did not answer within ${this.timeoutMs} ms.`,
          'transient',
        );
      }
      throw error;
    }
  }

  /**
   * Streams the audio to the provider and returns the transcript. The interview's hints (keywords,
   * the session's language, else TRANSCRIPTION_LANGUAGE, or its possible languages) go as far as
   * the model family takes them; without a language the provider detects it.
   */
  async transcribe(
    audio: AudioForTranscription,
    signal: AbortSignal,
    hints: InterviewHints = { keywords: [], language: null, languages: [] },
  ): Promise<TranscriptionResult> {
    this.assertConfigured();
    const params = hintParameters(this.capabilities, { ...hints, language: hints.language ?? this.language ?? null });
    const attributes = { 'gen_ai.operation.name': 'transcription', 'gen_ai.request.model': this.model };
    return withSpan('provider.transcribe', attributes, () => this.call(audio, signal, params), SpanKind.CLIENT);
  }

  private async call(
    audio: AudioForTranscription,
    signal: AbortSignal,
    hints: ReturnType<typeof hintParameters>,
  ): Promise<TranscriptionResult> {
    const end = this.metrics.providerSeconds.startTimer();
    const result = (await this.client!.audio.transcriptions.create(
      {
        file: toStreamingFile(audio.stream, audio.filename, { type: audio.contentType }),
        model: this.model,
        response_format: this.capabilities.responseFormat,
        ...hints,
        // a prompt written with filler words keeps them in the transcript (delivery counts them),
        // before any glossary of the interview's terms
        ...(this.capabilities.prompt ? { prompt: [DISFLUENCY_PROMPT, hints.prompt].filter(Boolean).join(' ') } : {}),
      },
      // the provider may join the trace (W3C traceparent)
      { signal, maxRetries: 0, timeout: this.timeoutMs, headers: traceHeaders() },
    ).then(
      (answer) => (end({ outcome: 'ok' }), answer),
      (error: unknown) => {
        end({ outcome: 'error' });
        throw error;
      },
    )) as { text?: unknown; language?: unknown; languages?: unknown; duration?: unknown; segments?: unknown };
    if (typeof result?.text !== 'string') {
      throw new TranscriptionFailure('The transcription provider answered without any text.', 'transient');
    }
    const segments = Array.isArray(result.segments)
      ? (result.segments as { start?: unknown; end?: unknown; text?: unknown }[])
          .filter((s) => typeof s.start === 'number' && typeof s.end === 'number' && typeof s.text === 'string')
          .map((s) => ({ start: s.start as number, end: s.end as number, text: (s.text as string).trim() }))
      : null;
    return {
      text: result.text.trim(),
      language: answeredLanguage(result),
      duration_seconds: typeof result.duration === 'number' ? result.duration : null,
      segments,
    };
  }
}

/** whisper names the language ("english"), gpt-transcribe lists the codes it detected. */
function answeredLanguage(result: { language?: unknown; languages?: unknown }): string | null {
  if (typeof result.language === 'string' && result.language) return result.language;
  const [first] = Array.isArray(result.languages) ? (result.languages as { code?: unknown }[]) : [];
  return typeof first?.code === 'string' && first.code ? first.code : null;
}
