import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import OpenAI, { toStreamingFile } from 'openai';
import { createOpenAiClient } from '../common/openai-client.js';
import type { Readable } from 'node:stream';
import type { EnvironmentVariables } from '../config/environment.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { TranscriptionFailure } from './retry-policy.js';

export interface AudioForTranscription {
  stream: Readable;
  /** The provider recognises the container by the file name's extension. */
  filename: string;
  contentType: string;
}

/** The one place that talks to the transcription provider, through the official openai SDK. */
@Injectable()
export class Transcriber {
  private readonly client?: OpenAI;
  private readonly model: string;
  private readonly language?: string;
  readonly timeoutMs: number;

  constructor(
    config: ConfigService<EnvironmentVariables, true>,
    private readonly metrics: ServiceMetrics,
  ) {
    this.model = config.get('TRANSCRIPTION_MODEL', { infer: true });
    this.language = config.get('TRANSCRIPTION_LANGUAGE', { infer: true });
    this.timeoutMs = config.get('TRANSCRIPTION_TIMEOUT_MS', { infer: true });
    // the worker's retry policy retries, re-reading the audio from GridFS
    this.client = createOpenAiClient(config, this.timeoutMs);
  }

  /** Streams the audio to the provider and returns the transcript text. */
  async transcribe(audio: AudioForTranscription, signal: AbortSignal): Promise<string> {
    if (!this.client) {
      throw new TranscriptionFailure(
        'OPENAI_API_KEY is not set, so the answer cannot be transcribed; set it, restart, and retry the answer.',
        'permanent',
      );
    }
    const end = this.metrics.providerSeconds.startTimer();
    const result = await this.client.audio.transcriptions
      .create(
        {
          file: toStreamingFile(audio.stream, audio.filename, { type: audio.contentType }),
          model: this.model,
          response_format: 'json',
          ...(this.language ? { language: this.language } : {}),
        },
        { signal, maxRetries: 0, timeout: this.timeoutMs },
      )
      .then(
        (answer) => (end({ outcome: 'ok' }), answer),
        (error: unknown) => {
          end({ outcome: 'error' });
          throw error;
        },
      );
    if (typeof result?.text !== 'string') {
      throw new TranscriptionFailure('The transcription provider answered without any text.', 'transient');
    }
    return result.text.trim();
  }
}
