import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { Navigate, useNavigate } from 'react-router';
import { useAuth } from '../auth/AuthContext';
import { errorMessage } from '../api/useQuery';
import { ErrorMessage } from '../components/ErrorMessage';

export const MIN_PASSWORD_LENGTH = 12;

/** Returns why a new password is refused, or null. */
export function newPasswordProblem(current: string, next: string, confirm: string): string | null {
  if (next.length < MIN_PASSWORD_LENGTH) return `The new password must have at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (next === current) return 'The new password must differ from the current one.';
  if (next !== confirm) return 'The two new passwords differ.';
  return null;
}

export function ChangePassword() {
  const auth = useAuth();
  const navigate = useNavigate();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = 'Change password · DECNET';
  }, []);

  if (!auth.token) return <Navigate to="/login" replace />;
  const forced = auth.mustChangePassword;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = newPasswordProblem(current, next, confirm);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await auth.changePassword(current, next);
      navigate('/fleet', { replace: true });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="auth-page">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="cp-title" noValidate>
        <h1 id="cp-title">Change password</h1>
        {forced ? (
          <p role="note">You must choose a new password before using the dashboard.</p>
        ) : null}
        <label htmlFor="cp-current">Current password</label>
        <input
          id="cp-current"
          type="password"
          autoComplete="current-password"
          required
          autoFocus
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
        <label htmlFor="cp-new">New password</label>
        <input
          id="cp-new"
          type="password"
          autoComplete="new-password"
          required
          minLength={MIN_PASSWORD_LENGTH}
          aria-describedby="cp-hint"
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
        <small id="cp-hint" className="muted">
          At least {MIN_PASSWORD_LENGTH} characters.
        </small>
        <label htmlFor="cp-confirm">Repeat the new password</label>
        <input
          id="cp-confirm"
          type="password"
          autoComplete="new-password"
          required
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
        />
        <ErrorMessage message={error} />
        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Change password'}
          </button>
          <button
            type="button"
            onClick={async () => {
              await auth.logout();
              navigate('/login', { replace: true });
            }}
          >
            Log out
          </button>
          {!forced ? (
            <button type="button" onClick={() => navigate(-1)}>
              Cancel
            </button>
          ) : null}
        </div>
      </form>
    </main>
  );
}
