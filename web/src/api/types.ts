/**
 * The app's names for what the server's API takes and answers with. The shapes themselves are
 * generated from the server's OpenAPI document into openapi.generated.ts (`npm run api-types`):
 * give a shape a name here, never describe one by hand.
 */
import type { components } from './openapi.generated';

type Schemas = components['schemas'];

/** A question of the body of POST /api/sessions. */
export type QuestionInput = Schemas['QuestionInputDto'];
/** 201 of POST /api/sessions. */
export type CreatedSession = Schemas['CreatedSessionView'];
export type SessionQuestion = Schemas['QuestionView'];
/** GET /api/sessions/:id: the answers' state on the server, keyed by question id. */
export type SessionView = Schemas['SessionView'];

/** 202 of an upload: the multipart POST, and the tus PATCH that completes a resumable one. */
export type UploadAccepted = Schemas['UploadAcceptedView'];
/** 202 of POST /api/transcription-retry/:sessionId/:questionId. */
export type RetryAccepted = Schemas['RetryAcceptedView'];
/** GET /api/transcription-status/:sessionId. */
export type SessionTranscriptionStatus = Schemas['SessionTranscriptionStatusView'];
/** One answer's transcription, in the status routes and the live stream's events. */
export type AnswerStatusView = Schemas['AnswerStatusView'];

/** 200 of POST /api/analyze/:sessionId: the interview is scored. */
export type AnalysisResult = Schemas['AnalysisResultView'];
export type ScoredAnswer = Schemas['ScoredAnswerView'];
export type CriterionScore = Schemas['CriterionScoreView'];
export type AnswerDelivery = Schemas['AnswerDeliveryView'];
/** 202: answers are still being transcribed, or another request is scoring. */
export type AnalysisPending = Schemas['AnalysisPendingView'];
/** 409: an RFC 9457 problem (application/problem+json) of type /problems/transcription-failed. */
export type AnalysisFailed = Schemas['TranscriptionFailedProblemView'];
export type AnalysisOutcome = AnalysisResult | AnalysisPending | AnalysisFailed;

/** GET /api/auth/config. */
export type AuthConfig = Schemas['AuthConfigView'];
/** 201 of POST /api/auth/dev-token. */
export type DevToken = Schemas['DevTokenView'];
