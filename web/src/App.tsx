import { useEffect, useMemo, useState } from 'react';
import { ApiClient, devLoginEnabled } from './api/api-client';
import type { CreatedSession } from './api/types';
import { KeptRecordingsNotice } from './components/KeptRecordingsNotice';
import { UnfinishedRecordingsNotice } from './components/UnfinishedRecordingsNotice';
import { InterviewFlow } from './screens/InterviewFlow';
import { QuestionSetPicker } from './screens/QuestionSetPicker';
import { SignInScreen } from './screens/SignInScreen';

declare global {
  interface Window {
    /** A host page that embeds the app signs the candidate in by setting this before the app loads. */
    __INTERVIEW_TOKEN__?: string;
  }
}

/** The token a host page handed over: window.__INTERVIEW_TOKEN__ or #token=… (removed from the address bar). */
export function tokenFromHostPage(): string | null {
  if (typeof window.__INTERVIEW_TOKEN__ === 'string' && window.__INTERVIEW_TOKEN__) return window.__INTERVIEW_TOKEN__;
  const fromFragment = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromFragment) {
    // keep the token out of history and out of anything the candidate copies from the address bar
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    return fromFragment;
  }
  return null;
}

export function App() {
  const [token, setToken] = useState<string | null>(() => tokenFromHostPage());
  const [devLogin, setDevLogin] = useState<boolean | null>(null);
  const [interview, setInterview] = useState<{ session: CreatedSession; title: string } | null>(null);
  const api = useMemo(() => (token ? new ApiClient(token) : null), [token]);

  useEffect(() => {
    if (!token) void devLoginEnabled().then(setDevLogin);
  }, [token]);

  if (!api) {
    if (devLogin === null) return <p className="loading">Loading…</p>;
    return (
      <main>
        <SignInScreen devLogin={devLogin} onSignedIn={setToken} />
      </main>
    );
  }
  // recordings kept on this device by an earlier page (reload, crash, offline) are uploaded from here
  // answers cut off mid-recording by the last page are offered: keep (upload what was said) or discard
  const kept = (
    <>
      <UnfinishedRecordingsNotice api={api} />
      <KeptRecordingsNotice api={api} />
    </>
  );
  if (!interview) {
    return (
      <main>
        {kept}
        <QuestionSetPicker api={api} onStarted={(session, title) => setInterview({ session, title })} />
      </main>
    );
  }
  return (
    <>
      {kept}
      <InterviewFlow
        key={interview.session.session_id}
        api={api}
        session={interview.session}
        title={interview.title}
        onStartAnother={() => setInterview(null)}
      />
    </>
  );
}
