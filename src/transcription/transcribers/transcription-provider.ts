import { Inject, Injectable } from '@nestjs/common';
import OpenAI, { toStreamingFile } from 'openai';
import type { Readable } from 'node:stream';
import { createOpenAiClient } from '../../common/openai-client.js';
import {
  providerSettings,
  transcriptionSettings,
  type ProviderSettings,
  type TranscriptionSettings,
} from '../../config/settings.js';
import { ServiceMetrics } from '../../metrics/service-metrics.js';
import { SpanKind, traceHeaders, withSpan } from '../../tracing/spans.js';
import { TranscriptionFailure } from '../retry-policy.js';
import { asksToKeepDisfluencies, DISFLUENCY_PROMPT } from './disfluency-prompt.js';

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
}

/** Only whisper models answer with timed segments (verbose_json); the gpt-4o ones give text. */
const hasVerboseJson = (model: string) => model.startsWith('whisper');

/** The one place that talks to the transcription provider, through the official openai SDK. */
@Injectable()
export class TranscriptionProvider {
  private readonly client?: OpenAI;
  private readonly model: string;
  private readonly language?: string;
  readonly timeoutMs: number;

  constructor(
    @Inject(transcriptionSettings.KEY) settings: TranscriptionSettings,
    @Inject(providerSettings.KEY) provider: ProviderSettings,
    private readonly metrics: ServiceMetrics,
  ) {
    this.model = settings.model;
    this.language = settings.language;
    this.timeoutMs = settings.timeoutMs;
    // the job's retry policy retries, re-reading the audio from GridFS
    this.client = createOpenAiClient(provider, this.timeoutMs);
  }

  /** Fails at once, before any audio is read, when nothing could be transcribed anyway. */
  assertConfigured(): void {
    if (!this.client) {
      throw new TranscriptionFailure(
        'OPENAI_API_KEY is not set, so the answer cannot be transcribed; set it, restart, and retry the answer.',
        'permanent',
      );
    }
  }

  /**
   * transcribe() under TRANSCRIPTION_TIMEOUT_MS: a provider that does not answer in time is a
   * transient failure saying so (unless `signal` stopped the call first).
   */
  async transcribeWithin(
    audio: AudioForTranscription,
    signal: AbortSignal,
    language?: string | null,
  ): Promise<TranscriptionResult> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    try {
      return await this.transcribe(audio, AbortSignal.any([signal, deadline]), language);
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
   * Streams the audio to the provider and returns the transcript. `language` (ISO-639-1) is the
   * session's; without it TRANSCRIPTION_LANGUAGE, and without that the provider detects it.
   */
  async transcribe(
    audio: AudioForTranscription,
    signal: AbortSignal,
    language?: string | null,
  ): Promise<TranscriptionResult> {
    this.assertConfigured();
    const spoken = language ?? this.language;
    const verbose = hasVerboseJson(this.model);
    const attributes = { 'gen_ai.operation.name': 'transcription', 'gen_ai.request.model': this.model };
    return withSpan(
      'provider.transcribe',
      attributes,
      () => this.call(audio, signal, spoken, verbose),
      SpanKind.CLIENT,
    );
  }

  private async call(
    audio: AudioForTranscription,
    signal: AbortSignal,
    spoken: string | undefined,
    verbose: boolean,
  ): Promise<TranscriptionResult> {
    const end = this.metrics.providerSeconds.startTimer();
    const result = (await this.client!.audio.transcriptions.create(
      {
        file: toStreamingFile(audio.stream, audio.filename, { type: audio.contentType }),
        model: this.model,
        response_format: verbose ? 'verbose_json' : 'json',
        ...(spoken ? { language: spoken } : {}),
        ...(asksToKeepDisfluencies(this.model) ? { prompt: DISFLUENCY_PROMPT } : {}),
      },
      // the provider may join the trace (W3C traceparent)
      { signal, maxRetries: 0, timeout: this.timeoutMs, headers: traceHeaders() },
    ).then(
      (answer) => (end({ outcome: 'ok' }), answer),
      (error: unknown) => {
        end({ outcome: 'error' });
        throw error;
      },
    )) as { text?: unknown; language?: unknown; duration?: unknown; segments?: unknown };
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
      language: typeof result.language === 'string' && result.language ? result.language : null,
      duration_seconds: typeof result.duration === 'number' ? result.duration : null,
      segments,
    };
  }
}
