import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MinLength } from 'class-validator';
import { readEnvironment } from '../read-environment.js';
import { emptyToUndefined, IntegerSetting, toBoolean } from '../setting-rules.js';

export const RESPONSE_FORMATS = ['auto', 'json', 'verbose_json'] as const;
export type ResponseFormatSetting = (typeof RESPONSE_FORMATS)[number];

export class TranscriptionEnvironment {
  /** OpenAI's current transcription model; whisper-1 or a self-hosted server's model id work too. */
  @Matches(/^[\w.:/-]{1,200}$/, {
    message: 'TRANSCRIPTION_MODEL must be a model name such as gpt-transcribe or Systran/faster-whisper-small',
  })
  TRANSCRIPTION_MODEL = 'gpt-transcribe';

  /**
   * What to ask the transcription provider for: auto follows the model family (verbose_json, with
   * segments, for whisper-style models and self-hosted servers; json for OpenAI's gpt-* models).
   */
  @IsIn(RESPONSE_FORMATS, { message: 'TRANSCRIPTION_RESPONSE_FORMAT must be auto, json or verbose_json' })
  TRANSCRIPTION_RESPONSE_FORMAT: ResponseFormatSetting = 'auto';

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[a-z]{2}$/, { message: 'TRANSCRIPTION_LANGUAGE must be an ISO-639-1 code such as en' })
  TRANSCRIPTION_LANGUAGE?: string;

  /** Measure the speech in each recording (a voice-activity detector) and send none without speech to the provider. */
  @Transform(toBoolean)
  @IsBoolean({ message: 'TRANSCRIPTION_SPEECH_GUARD must be true or false' })
  TRANSCRIPTION_SPEECH_GUARD = true;

  /**
   * The WebRTC voice-activity detector's aggressiveness: 3 (the default) takes least noise for
   * speech; lower modes keep more of a faint voice and more of the room with it (bench/NOTES.md).
   */
  @IntegerSetting(0, 3)
  TRANSCRIPTION_VAD_MODE = 3;

  /** A recording with less speech than this holds no answer (the shortest words, "no", take about 200 ms). */
  @IntegerSetting(0, 10_000)
  TRANSCRIPTION_MIN_SPEECH_MS = 200;

  @IntegerSetting(1, 64)
  TRANSCRIPTION_CONCURRENCY = 4;

  /** The provider refuses larger files (OpenAI: 25 MB); larger recordings are compressed and split. */
  @IntegerSetting(64 * 1024, 1024 ** 3)
  TRANSCRIPTION_MAX_FILE_BYTES = 26_214_400;

  /** Longest piece a compressed recording is cut into (at a silence near this length). */
  @IntegerSetting(10, 1400)
  TRANSCRIPTION_PIECE_SECONDS = 600;

  /** Pieces of one recording sent to the provider at the same time. */
  @IntegerSetting(1, 16)
  TRANSCRIPTION_PIECE_CONCURRENCY = 3;

  /**
   * While a resumable upload is still growing (a recording streamed as it is made), transcribe its
   * audio up to a pause once this many seconds after the last such cut are in; 0 turns it off.
   * At the end only the rest is sent, so a long answer's transcript comes seconds after its last byte.
   */
  @IntegerSetting(0, 1400)
  TRANSCRIPTION_AHEAD_SECONDS = 20;

  /** Growing uploads this instance transcribes ahead at the same time (each one piece at a time). */
  @IntegerSetting(1, 64)
  TRANSCRIPTION_AHEAD_CONCURRENCY = 2;

  /** The ffmpeg executable (a name looked up on PATH, or a path). */
  @IsString({ message: 'FFMPEG_PATH must be a path or a command name' })
  @MinLength(1, { message: 'FFMPEG_PATH must be a path or a command name' })
  FFMPEG_PATH = 'ffmpeg';

  /** The ffprobe executable; unset: the ffprobe next to FFMPEG_PATH. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString({ message: 'FFPROBE_PATH must be a path or a command name' })
  FFPROBE_PATH?: string;

  @IntegerSetting(1, 20)
  TRANSCRIPTION_MAX_ATTEMPTS = 5;

  @IntegerSetting(100, 3_600_000)
  TRANSCRIPTION_TIMEOUT_MS = 300_000;

  @IntegerSetting(1, 600_000)
  TRANSCRIPTION_RETRY_BASE_MS = 2_000;

  @IntegerSetting(1, 3_600_000)
  TRANSCRIPTION_RETRY_MAX_MS = 60_000;

  @IntegerSetting(1_000, 600_000)
  TRANSCRIPTION_LEASE_MS = 30_000;

  @IntegerSetting(100, 600_000)
  TRANSCRIPTION_POLL_MS = 5_000;

  @IntegerSetting(0, 600_000)
  SHUTDOWN_GRACE_MS = 15_000;

  /** UTF-8 bytes one answer's transcript may take (its segments as many again); a longer text is stored cut and flagged. */
  @IntegerSetting(1024, 4_194_304)
  TRANSCRIPT_MAX_BYTES = 262_144;

  /** UTF-8 bytes all transcripts of a session may take, shared evenly by its questions (segments as many again). */
  @IntegerSetting(65_536, 2_097_152)
  SESSION_TRANSCRIPTS_MAX_BYTES = 524_288;
}

export const transcriptionSettings = registerAs('transcription', () => {
  const e = readEnvironment([TranscriptionEnvironment]);
  return {
    model: e.TRANSCRIPTION_MODEL,
    language: e.TRANSCRIPTION_LANGUAGE,
    concurrency: e.TRANSCRIPTION_CONCURRENCY,
    maxAttempts: e.TRANSCRIPTION_MAX_ATTEMPTS,
    timeoutMs: e.TRANSCRIPTION_TIMEOUT_MS,
    retry: { baseMs: e.TRANSCRIPTION_RETRY_BASE_MS, maxMs: e.TRANSCRIPTION_RETRY_MAX_MS },
    leaseMs: e.TRANSCRIPTION_LEASE_MS,
    pollMs: e.TRANSCRIPTION_POLL_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    maxFileBytes: e.TRANSCRIPTION_MAX_FILE_BYTES,
    pieceSeconds: e.TRANSCRIPTION_PIECE_SECONDS,
    pieceConcurrency: e.TRANSCRIPTION_PIECE_CONCURRENCY,
    ahead: { seconds: e.TRANSCRIPTION_AHEAD_SECONDS, concurrency: e.TRANSCRIPTION_AHEAD_CONCURRENCY },
    transcriptBounds: { answerMaxBytes: e.TRANSCRIPT_MAX_BYTES, sessionMaxBytes: e.SESSION_TRANSCRIPTS_MAX_BYTES },
    ffmpegPath: e.FFMPEG_PATH,
    ffprobePath: e.FFPROBE_PATH,
    responseFormat: e.TRANSCRIPTION_RESPONSE_FORMAT,
    speechGuard: {
      enabled: e.TRANSCRIPTION_SPEECH_GUARD,
      vadMode: e.TRANSCRIPTION_VAD_MODE as 0 | 1 | 2 | 3,
      minSpeechSeconds: e.TRANSCRIPTION_MIN_SPEECH_MS / 1000,
    },
  };
});

export type TranscriptionSettings = ConfigType<typeof transcriptionSettings>;
