import { useState, type FormEvent } from 'react';
import type { ApiClient } from '../api/api-client';
import { ApiError } from '../api/api-error';
import type { CreatedSession } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { QUESTION_SETS, type QuestionSet } from '../question-sets';

interface Props {
  api: ApiClient;
  onStarted: (session: CreatedSession, title: string) => void;
  sets?: QuestionSet[];
}

/** Choose one of the sample interviews and start it (POST /api/sessions). */
export function QuestionSetPicker({ api, onStarted, sets = QUESTION_SETS }: Props) {
  const [chosen, setChosen] = useState(sets[0]?.id ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function start(event: FormEvent) {
    event.preventDefault();
    const set = sets.find((s) => s.id === chosen);
    if (!set) return;
    setBusy(true);
    setError(null);
    try {
      onStarted(await api.createSession(set.title, set.questions), set.title);
    } catch (cause) {
      setError(cause instanceof ApiError ? cause.message : 'The interview could not be started; try again.');
      setBusy(false);
    }
  }

  return (
    <section className="card">
      <h1>Choose an interview</h1>
      <form onSubmit={(event) => void start(event)}>
        <fieldset>
          <legend>Question set</legend>
          {sets.map((set) => (
            <label key={set.id} className="choice">
              <input
                type="radio"
                name="question-set"
                value={set.id}
                checked={chosen === set.id}
                onChange={() => setChosen(set.id)}
              />
              <span>
                <strong>{set.title}</strong>
                <span className="choice__description">
                  {set.description} {set.questions.length} questions.
                </span>
              </span>
            </label>
          ))}
        </fieldset>
        <ErrorNotice message={error} />
        <button type="submit" className="button" disabled={busy}>
          {busy ? 'Starting…' : 'Start interview'}
        </button>
      </form>
    </section>
  );
}
