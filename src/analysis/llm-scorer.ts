import { Inject, Injectable } from '@nestjs/common';
import type OpenAI from 'openai';
import { scoringCapabilities, type ScoringCapabilities } from '../common/model-capabilities.js';
import { createOpenAiClient } from '../common/openai-client.js';
import { providerSettings, scoringSettings, type ProviderSettings, type ScoringSettings } from '../config/settings.js';
import type { RubricCriterion } from '../interview-record/rubric.schema.js';
import { INSTRUCTIONS, judgementSchema, SCHEMA_NAME } from './scoring-instructions.js';

export interface ScoreRequest {
  questionId: string;
  question: string;
  modelAnswer: string;
  transcript: string;
}

/** Tokens a reply's `usage` says the call took. */
export interface TokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** One reply, parsed but not yet checked: each criterion's raw judgement and the evaluator report. */
export interface JudgeReply {
  criteria: Record<string, unknown>;
  addressedToEvaluator: boolean;
  evaluatorQuote: string;
  usage: TokenUsage;
}

/** A call that cost tokens but gave nothing usable; its usage still counts. */
export class UnusableScore extends Error {
  constructor(
    message: string,
    readonly usage: TokenUsage = { prompt_tokens: 0, completion_tokens: 0 },
  ) {
    super(message);
  }
}

/** Every criterion's judgement and the report of the rubric as a whole fit in this; a reasoning model thinks within its own budget as well. */
const CHAT_MAX_TOKENS_PER_CRITERION = 350;
const REASONING_MAX_TOKENS = 6_000;

/** Judges criteria of one answer with one chat completion and a strict JSON-schema structured output. */
@Injectable()
export class LlmScorer {
  private readonly client?: OpenAI;
  readonly model: string;
  private readonly timeoutMs: number;
  private readonly temperature: number;
  private readonly capabilities: ScoringCapabilities;

  constructor(
    @Inject(scoringSettings.KEY) settings: ScoringSettings,
    @Inject(providerSettings.KEY) provider: ProviderSettings,
  ) {
    this.model = settings.model;
    this.timeoutMs = settings.timeoutMs;
    // one sample is the model's single best judgement; several must be independent draws
    this.temperature = settings.samples > 1 ? 0.7 : 0;
    this.capabilities = scoringCapabilities(settings.model, settings.modelKind);
    // AnswerScorer owns the attempts (SCORING_MAX_ATTEMPTS), whatever made one fail
    this.client = createOpenAiClient(provider, this.timeoutMs);
  }

  get available(): boolean {
    return this.client !== undefined;
  }

  /**
   * One call judging `criteria` (the whole rubric, or the criteria of an earlier reply that failed
   * their checks); throws UnusableScore for a refusal, a cut-off or malformed reply.
   */
  async judge(request: ScoreRequest, criteria: RubricCriterion[], note?: string): Promise<JudgeReply> {
    if (!this.client) throw new UnusableScore('OPENAI_API_KEY is not set');
    const completion = await this.client.chat.completions.create(
      {
        model: this.model,
        // a reasoning model takes no temperature (its samples differ anyway) and spends part of its
        // token budget thinking
        ...(this.capabilities.reasoning
          ? { max_completion_tokens: REASONING_MAX_TOKENS, reasoning_effort: 'low' as const }
          : { temperature: this.temperature, max_tokens: CHAT_MAX_TOKENS_PER_CRITERION * (criteria.length + 1) }),
        messages: [
          { role: 'system', content: INSTRUCTIONS },
          {
            role: 'user',
            content: JSON.stringify({
              question_id: request.questionId,
              question: request.question,
              model_answer: request.modelAnswer || '(none: judge relevance and quality)',
              // levels: the descriptions of levels 0 to 4, in order
              criteria: criteria.map((c) => ({
                id: c.id,
                name: c.name,
                ...(c.description ? { description: c.description } : {}),
                ...(c.levels.length === 5 ? { levels: c.levels } : {}),
              })),
              ...(note ? { note } : {}),
              transcript: request.transcript,
            }),
          },
        ],
        response_format: {
          type: 'json_schema',
          json_schema: { name: SCHEMA_NAME, strict: true, schema: judgementSchema(criteria) },
        },
      },
      { timeout: this.timeoutMs },
    );
    const usage: TokenUsage = {
      prompt_tokens: completion.usage?.prompt_tokens ?? 0,
      completion_tokens: completion.usage?.completion_tokens ?? 0,
    };
    const choice = completion.choices?.[0];
    const message = choice?.message;
    if (!message) throw new UnusableScore('the reply has no message', usage);
    if (choice.finish_reason === 'length') throw new UnusableScore('the reply was cut off at the token limit', usage);
    if (message.refusal) throw new UnusableScore(`the model refused: ${message.refusal.slice(0, 200)}`, usage);
    return parseReply(message.content, criteria, usage);
  }
}

/** The reply's shape; each criterion's content is checked later, one by one (judgement-checks.ts). */
export function parseReply(content: unknown, criteria: RubricCriterion[], usage: TokenUsage): JudgeReply {
  if (typeof content !== 'string') throw new UnusableScore('the reply has no content', usage);
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw new UnusableScore('the reply is not JSON', usage);
  }
  const reply = (parsed ?? {}) as Record<string, unknown>;
  const judged = reply.criteria;
  if (typeof judged !== 'object' || judged === null || Array.isArray(judged)) {
    throw new UnusableScore('the reply has no criteria object', usage);
  }
  const criteriaOf = new Map(Object.entries(judged));
  const byId: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const c of criteria) byId[c.id] = criteriaOf.get(c.id);
  return {
    criteria: byId,
    addressedToEvaluator: reply.addressed_to_evaluator === true,
    evaluatorQuote: typeof reply.evaluator_quote === 'string' ? reply.evaluator_quote.slice(0, 2000) : '',
    usage,
  };
}
