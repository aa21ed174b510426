import { useEffect, useRef } from 'react';
import type { AnalysisResult, ScoredAnswer, SessionQuestion } from '../api/types';
import { CriteriaList } from '../components/CriteriaList';
import { DeliveryChart, deliverySummary } from '../components/DeliveryChart';

interface Props {
  questions: SessionQuestion[];
  result: AnalysisResult;
  onStartAnother: () => void;
}

/** The transcript, or why there is none to show. */
function transcriptText(answer: ScoredAnswer | undefined): string {
  if (!answer || answer.unanswered) return 'No answer was recorded.';
  if (answer.not_scored_reason || answer.no_speech || answer.suspect_hallucination) return 'No answer was heard.';
  return answer.transcript || 'No answer was recorded.';
}

/**
 * Why a person will review this answer's score, each reason next to it. Results stored before the
 * reasons were kept say only that the scorings disagreed.
 */
function ReviewNote({ answer }: { answer: ScoredAnswer }) {
  const reasons = answer.review_reasons ?? [];
  if (reasons.length === 0) {
    return (
      <p className="result__review">
        The scorings of this answer disagreed by {answer.spread} points: a person will review it.
      </p>
    );
  }
  return (
    <div className="result__review" data-testid="review-reasons">
      <p>A person will review this score:</p>
      <ul>
        {reasons.map((reason, i) => (
          <li key={i} data-code={reason.code}>
            {reason.detail}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * The final score and how the answers were delivered, then each question with its score, the
 * rubric's criteria with the words that earned them, feedback, transcript and model answer.
 */
export function ResultsScreen({ questions, result, onStartAnother }: Props) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const byId = new Map(result.answers.map((answer) => [answer.question_id, answer]));

  return (
    <section className="card results">
      <h2 ref={heading} tabIndex={-1}>
        Your results
      </h2>
      <p className="results__final">
        Final score <strong data-testid="final-score">{Math.round(result.final_score)}</strong> / 100
      </p>
      <h3>How you spoke</h3>
      <DeliveryChart
        rows={questions.map((q, index) => ({ label: `Q${index + 1}`, delivery: byId.get(q.question_id)?.delivery }))}
      />
      <ol className="results__answers">
        {questions.map((question, index) => {
          const answer = byId.get(question.question_id);
          return (
            <li key={question.question_id} className="result">
              <h3>
                Question {index + 1}: {question.text}
              </h3>
              <p className="result__score">
                Score <strong>{answer ? Math.round(answer.score) : 0}</strong> / 100
              </p>
              {answer?.needs_review && <ReviewNote answer={answer} />}
              {answer?.criteria && answer.criteria.length > 0 && (
                <>
                  <h4>Criteria</h4>
                  <CriteriaList criteria={answer.criteria} />
                </>
              )}
              {answer?.delivery && (
                <p className="result__delivery">
                  <strong>Delivery:</strong> {deliverySummary(answer.delivery)}
                </p>
              )}
              {/* the LLM's feedback is its criteria's rationales, already shown above */}
              {!(answer?.scoring_method === 'llm' && answer.criteria?.length) && (
                <>
                  <h4>Feedback</h4>
                  <ul>
                    {(answer?.feedback ?? ['No score was given for this question.']).map((line, i) => (
                      <li key={i}>{line}</li>
                    ))}
                  </ul>
                </>
              )}
              <h4>What you said</h4>
              <p className="result__transcript">{transcriptText(answer)}</p>
              {(answer?.model_answer ?? question.model_answer) && (
                <>
                  <h4>Model answer</h4>
                  <p>{answer?.model_answer ?? question.model_answer}</p>
                </>
              )}
            </li>
          );
        })}
      </ol>
      <button type="button" className="button" onClick={onStartAnother}>
        Start another interview
      </button>
    </section>
  );
}
