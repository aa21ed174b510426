import { useId, useState, type FormEvent } from 'react';
import { requestDevToken } from '../api/api-client';
import { ApiError } from '../api/api-error';
import { ErrorNotice } from '../components/ErrorNotice';

interface Props {
  devLogin: boolean;
  onSignedIn: (token: string) => void;
}

/**
 * Development sign-in (the server has AUTH_DEV_LOGIN=true). Otherwise the host page gives the app
 * a token, and this screen only says so.
 */
export function SignInScreen({ devLogin, onSignedIn }: Props) {
  const inputId = useId();
  const [userId, setUserId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!devLogin) {
    return (
      <section className="card">
        <h1>Voice interview</h1>
        <p>
          Open this interview from the link you were given: it signs you in. If you came here that way, the link may
          have expired; ask for a new one.
        </p>
      </section>
    );
  }

  async function signIn(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (!userId.trim()) {
      setError('Enter a user name to sign in.');
      return;
    }
    setBusy(true);
    try {
      onSignedIn(await requestDevToken(userId.trim()));
    } catch (cause) {
      setError(cause instanceof ApiError ? cause.message : 'Signing in failed; try again.');
      setBusy(false);
    }
  }

  return (
    <section className="card">
      <h1>Voice interview</h1>
      <p>Development sign-in: any user name works.</p>
      <form onSubmit={(event) => void signIn(event)} noValidate>
        <label htmlFor={inputId}>User name</label>
        <input
          id={inputId}
          name="user_id"
          autoComplete="username"
          value={userId}
          onChange={(event) => setUserId(event.target.value)}
          aria-invalid={error ? true : undefined}
        />
        <ErrorNotice message={error} />
        <button type="submit" className="button" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
