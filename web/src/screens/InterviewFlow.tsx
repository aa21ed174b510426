import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import type { AnalysisResult, CreatedSession } from '../api/types';
import { AnswerProgressList } from '../components/AnswerProgressList';
import { ErrorNotice } from '../components/ErrorNotice';
import { pendingCount } from '../interview/answer-indicator';
import { runAnalysis } from '../interview/run-analysis';
import { useAnswerProgress } from '../interview/use-answer-progress';
import { AnalyzingScreen } from './AnalyzingScreen';
import { QuestionScreen } from './QuestionScreen';
import { ResultsScreen } from './ResultsScreen';

type Phase =
  | { name: 'answering'; index: number }
  | { name: 'analyzing' }
  | { name: 'needs-retry'; message: string }
  | { name: 'results'; result: AnalysisResult };

interface Props {
  api: ApiClient;
  session: CreatedSession;
  title: string;
  onStartAnother: () => void;
}

function retrySentence(count: number, what: 'uploaded' | 'transcribed'): string {
  return count === 1
    ? `One answer could not be ${what}. Retry it below, then finish again.`
    : `${count} answers could not be ${what}. Retry them below, then finish again.`;
}

/** One interview from the first question to the results. */
export function InterviewFlow({ api, session, title, onStartAnother }: Props) {
  const { progress, submit, retry, waitForChange, settleUploads, beginTakeFor } = useAnswerProgress(
    api,
    session.session_id,
  );
  const [phase, setPhase] = useState<Phase>({ name: 'answering', index: 0 });
  const [remaining, setRemaining] = useState<number | null>(null);
  const questions = session.questions;
  const localPending = pendingCount(progress);
  const liveRemaining = useRef(localPending);
  liveRemaining.current = localPending;

  const analyze = useCallback(async () => {
    setPhase({ name: 'analyzing' });
    setRemaining(liveRemaining.current || null);
    // the server would score without an answer still uploading, and then refuse it: wait for uploads
    const notUploaded = await settleUploads();
    if (notUploaded.length > 0) {
      setPhase({ name: 'needs-retry', message: retrySentence(notUploaded.length, 'uploaded') });
      return;
    }
    try {
      const end = await runAnalysis({
        api,
        sessionId: session.session_id,
        onPending: setRemaining,
        waitForChange,
      });
      if (end.kind === 'scored') setPhase({ name: 'results', result: end.result });
      else setPhase({ name: 'needs-retry', message: retrySentence(end.failed.length, 'transcribed') });
    } catch (error) {
      setPhase({
        name: 'needs-retry',
        message: error instanceof ApiError ? error.message : 'The analysis could not be requested; try again.',
      });
    }
  }, [api, session.session_id, settleUploads, waitForChange]);

  // while the app waits on the server, keep the count in step with the live stream
  useEffect(() => {
    if (phase.name === 'analyzing' && remaining !== null && localPending < remaining) setRemaining(localPending);
  }, [phase.name, localPending, remaining]);

  const failedUploads = Object.values(progress).some((p) => p.upload?.phase === 'failed');

  return (
    <main className="interview">
      <header className="interview__header">
        <p className="interview__title">{title}</p>
      </header>
      {phase.name === 'answering' && (
        <QuestionScreen
          key={questions[phase.index].question_id}
          question={questions[phase.index]}
          number={phase.index + 1}
          total={questions.length}
          beginTake={beginTakeFor(questions[phase.index].question_id)}
          onAnswered={(recording) => {
            if (recording) submit(questions[phase.index].question_id, recording);
            if (phase.index + 1 < questions.length) setPhase({ name: 'answering', index: phase.index + 1 });
            else void analyze();
          }}
        />
      )}
      {phase.name === 'analyzing' && <AnalyzingScreen remaining={remaining} />}
      {phase.name === 'needs-retry' && (
        <section className="card">
          <h2>Almost done</h2>
          <ErrorNotice message={phase.message} />
          <button
            type="button"
            className="button button--primary"
            onClick={() => void analyze()}
            disabled={failedUploads}
          >
            Finish again
          </button>
        </section>
      )}
      {phase.name === 'results' && (
        <ResultsScreen questions={questions} result={phase.result} onStartAnother={onStartAnother} />
      )}
      {phase.name !== 'results' && (
        <AnswerProgressList questions={questions} progress={progress} onRetry={(id, part) => void retry(id, part)} />
      )}
    </main>
  );
}
