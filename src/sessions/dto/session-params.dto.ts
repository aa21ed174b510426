import { Matches } from 'class-validator';
import { QUESTION_ID_PATTERN, QUESTION_ID_RULE, SESSION_ID_PATTERN, SESSION_ID_RULE } from '../../common/ids.js';

export class SessionParams {
  @Matches(SESSION_ID_PATTERN, { message: `sessionId ${SESSION_ID_RULE}` })
  sessionId: string;
}

export class AnswerParams extends SessionParams {
  @Matches(QUESTION_ID_PATTERN, { message: `questionId ${QUESTION_ID_RULE}` })
  questionId: string;
}
