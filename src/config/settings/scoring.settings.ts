import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, Matches } from 'class-validator';
import { readEnvironment } from '../read-environment.js';
import { IntegerSetting, toBoolean } from '../setting-rules.js';
import { HttpEnvironment } from './http.settings.js';
import { TranscriptionEnvironment } from './transcription.settings.js';

export class ScoringEnvironment {
  /** A reasoning model by default (see SCORING_MODEL_KIND). */
  @Matches(/^[\w.:/-]{1,200}$/, { message: 'SCORING_MODEL must be a chat model name such as gpt-6-luna' })
  SCORING_MODEL = 'gpt-6-luna';

  /**
   * How SCORING_MODEL is asked: auto knows OpenAI's reasoning models (o*, gpt-5*, gpt-6*), which take
   * max_completion_tokens and no temperature; chat is any other chat model (temperature 0, max_tokens).
   */
  @IsIn(['auto', 'reasoning', 'chat'], { message: 'SCORING_MODEL_KIND must be auto, reasoning or chat' })
  SCORING_MODEL_KIND: 'auto' | 'reasoning' | 'chat' = 'auto';

  @IntegerSetting(1, 10)
  SCORING_MAX_ATTEMPTS = 3;

  @IntegerSetting(100, 600_000)
  SCORING_TIMEOUT_MS = 60_000;

  /** The right to score a session lapses this long after its holder last renewed it (every fifth of it). */
  @IntegerSetting(1000, 3_600_000)
  SCORING_CLAIM_MS = 300_000;

  /** Independent LLM scorings of each answer; the stored score is their median. */
  @IntegerSetting(1, 9)
  SCORING_SAMPLES = 3;

  /** Points (0–100) between the highest and lowest sample above which an answer needs review. */
  @IntegerSetting(0, 100)
  SCORING_REVIEW_SPREAD = 20;

  /**
   * Points (0–100) by which the model's score may exceed the deterministic key-term coverage of the
   * model answer before the answer needs review and its levels are capped at what the coverage supports.
   */
  @IntegerSetting(0, 100)
  SCORING_COVERAGE_GAP = 50;

  /**
   * Score each answer in the background as soon as its transcript is stored (analyze then reuses the
   * stored scores); false scores only when analyze is called, for deployments that seldom analyze.
   */
  @Transform(toBoolean)
  @IsBoolean({ message: 'SCORING_EAGER must be true or false' })
  SCORING_EAGER = true;
}

export const scoringSettings = registerAs('scoring', () => {
  const e = readEnvironment([ScoringEnvironment, HttpEnvironment, TranscriptionEnvironment]);
  return {
    model: e.SCORING_MODEL,
    modelKind: e.SCORING_MODEL_KIND,
    maxAttempts: e.SCORING_MAX_ATTEMPTS,
    timeoutMs: e.SCORING_TIMEOUT_MS,
    claimMs: e.SCORING_CLAIM_MS,
    // a waiting analyze call answers (202) well before the connection's idle timeout closes it
    maxWaitMs: Math.floor(e.HTTP_IDLE_TIMEOUT_MS * 0.8),
    samples: e.SCORING_SAMPLES,
    reviewSpread: e.SCORING_REVIEW_SPREAD,
    coverageGap: e.SCORING_COVERAGE_GAP,
    eager: e.SCORING_EAGER,
    // scoring runs as many answers at once as transcription does jobs
    concurrency: e.TRANSCRIPTION_CONCURRENCY,
  };
});

export type ScoringSettings = ConfigType<typeof scoringSettings>;
