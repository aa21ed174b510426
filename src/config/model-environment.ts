import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, Matches } from 'class-validator';
import { IntegerSetting, toBoolean } from './setting-rules.js';

export const RESPONSE_FORMATS = ['auto', 'json', 'verbose_json'] as const;
export type ResponseFormatSetting = (typeof RESPONSE_FORMATS)[number];

/**
 * The settings of what the service asks of its models and how it listens to a recording first.
 * EnvironmentVariables extends this class: one environment, validated once.
 */
export class ModelEnvironment {
  /** OpenAI's current transcription model; whisper-1 or a self-hosted server's model id work too. */
  @Matches(/^[\w.:/-]{1,200}$/, {
    message: 'TRANSCRIPTION_MODEL must be a model name such as gpt-transcribe or Systran/faster-whisper-small',
  })
  TRANSCRIPTION_MODEL = 'gpt-transcribe';

  /** A reasoning model by default (see SCORING_MODEL_KIND). */
  @Matches(/^[\w.:/-]{1,200}$/, { message: 'SCORING_MODEL must be a chat model name such as gpt-6-luna' })
  SCORING_MODEL = 'gpt-6-luna';

  /**
   * What to ask the transcription provider for: auto follows the model family (verbose_json, with
   * segments, for whisper-style models and self-hosted servers; json for OpenAI's gpt-* models).
   */
  @IsIn(RESPONSE_FORMATS, { message: 'TRANSCRIPTION_RESPONSE_FORMAT must be auto, json or verbose_json' })
  TRANSCRIPTION_RESPONSE_FORMAT: ResponseFormatSetting = 'auto';

  /**
   * How SCORING_MODEL is asked: auto knows OpenAI's reasoning models (o*, gpt-5*, gpt-6*), which take
   * max_completion_tokens and no temperature; chat is any other chat model (temperature 0, max_tokens).
   */
  @IsIn(['auto', 'reasoning', 'chat'], { message: 'SCORING_MODEL_KIND must be auto, reasoning or chat' })
  SCORING_MODEL_KIND: 'auto' | 'reasoning' | 'chat' = 'auto';

  /** Measure the speech in each recording (ffmpeg) and send none without speech to the provider. */
  @Transform(toBoolean)
  @IsBoolean({ message: 'TRANSCRIPTION_SPEECH_GUARD must be true or false' })
  TRANSCRIPTION_SPEECH_GUARD = true;

  /**
   * Quieter than this (dBFS, every sample of a stretch) is silence. Room noise and microphone hiss
   * sit at -60 to -40 dBFS, speech in a browser recording peaks at -20 to -3 dBFS.
   */
  @IntegerSetting(-90, -10)
  TRANSCRIPTION_SILENCE_DB = -30;

  /** A recording with less speech than this holds no answer (the shortest words, "no", take about 200 ms). */
  @IntegerSetting(0, 10_000)
  TRANSCRIPTION_MIN_SPEECH_MS = 200;
}
