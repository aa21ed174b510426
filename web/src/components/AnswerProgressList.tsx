import type { SessionQuestion } from '../api/types';
import { indicatorFor, type AnswerProgress } from '../interview/answer-indicator';

interface Props {
  questions: SessionQuestion[];
  progress: Record<string, AnswerProgress>;
  onRetry: (questionId: string, failedPart: 'upload' | 'transcription') => void;
}

/** One small status line per question: uploading, queued, transcribing, done, or failed with a retry button. */
export function AnswerProgressList({ questions, progress, onRetry }: Props) {
  return (
    <ol className="answer-progress" aria-label="Your answers">
      {questions.map((question, index) => {
        // own keys only: a question id may be "toString", which every object inherits
        const own = Object.hasOwn(progress, question.question_id) ? progress[question.question_id] : undefined;
        const indicator = indicatorFor(own);
        const failedPart = own?.upload?.phase === 'failed' ? 'upload' : 'transcription';
        return (
          <li key={question.question_id} className={`indicator indicator--${indicator.tone}`}>
            <span className="indicator__question">Question {index + 1}</span>{' '}
            <span className="indicator__label" data-testid={`status-${question.question_id}`}>
              {indicator.label}
            </span>
            {indicator.detail && <span className="indicator__detail">{indicator.detail}</span>}
            {indicator.canRetry && (
              <button type="button" className="link-button" onClick={() => onRetry(question.question_id, failedPart)}>
                Retry question {index + 1}
              </button>
            )}
          </li>
        );
      })}
    </ol>
  );
}
