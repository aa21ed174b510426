import { useEffect, useRef } from 'react';
import type { AnalysisResult, ScoredAnswer, SessionQuestion } from '../api/types';

interface Props {
  questions: SessionQuestion[];
  result: AnalysisResult;
  onStartAnother: () => void;
}

/** The transcript, or why there is none to show. */
function whatWasSaid(answer: ScoredAnswer | undefined): string {
  if (answer?.no_speech || answer?.suspect_hallucination) return 'No answer was heard.';
  return answer?.transcript || 'No answer was recorded.';
}

/** The final score, then each question with its score, feedback, transcript and model answer. */
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
              <h4>Feedback</h4>
              <ul>
                {(answer?.feedback ?? ['No score was given for this question.']).map((line, i) => (
                  <li key={i}>{line}</li>
                ))}
              </ul>
              <h4>What you said</h4>
              <p className="result__transcript">{whatWasSaid(answer)}</p>
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
