import { useEffect, useRef } from 'react';
import type { SessionQuestion } from '../api/types';
import { RecorderControls } from '../components/RecorderControls';
import { useRecorder, type BeginTake } from '../interview/use-recorder';

interface Props {
  question: SessionQuestion;
  number: number;
  total: number;
  /** Called with the recording (or null when nothing was recorded); returns at once. */
  onAnswered: (recording: Blob | null) => void;
  /** Keeps and streams each chunk as it is recorded (see useAnswerProgress). */
  beginTake?: BeginTake;
}

/**
 * One question at a time. Next hands the recording over and shows the next question at once: the
 * upload runs in the background. Render it with key={question_id} so each question starts fresh.
 */
export function QuestionScreen({ question, number, total, onAnswered, beginTake }: Props) {
  const recorder = useRecorder(beginTake);
  const heading = useRef<HTMLHeadingElement>(null);
  const last = number === total;

  // a new question is new content: move focus to it so keyboard and screen reader users land there
  useEffect(() => heading.current?.focus(), []);

  async function next() {
    onAnswered(await recorder.stop());
  }

  return (
    <section className="card" aria-labelledby={`question-${question.question_id}`}>
      <p className="question__count">
        Question {number} of {total}
      </p>
      <h2 id={`question-${question.question_id}`} ref={heading} tabIndex={-1} className="question__text">
        {question.text}
      </h2>
      <RecorderControls recorder={recorder} />
      <div className="question__actions">
        <button
          type="button"
          className="button button--primary"
          onClick={() => void next()}
          disabled={recorder.phase === 'starting'}
        >
          {last ? 'Finish interview' : 'Next question'}
        </button>
      </div>
    </section>
  );
}
