// Users (admin only): create, change role, reset password, delete.

import { useEffect, useId, useState } from 'react';
import type { FormEvent } from 'react';
import { useApi, useAuth } from '../auth/AuthContext';
import type { Role } from '../api/types';
import { errorMessage, useQuery } from '../api/useQuery';
import { ConfirmButton } from '../components/ConfirmButton';
import { CopyButton } from '../components/CopyButton';
import { ErrorMessage } from '../components/ErrorMessage';
import { Time } from '../components/Time';
import { MIN_PASSWORD_LENGTH } from './ChangePassword';

function OneTimePassword({ who, password, onDone }: { who: string; password: string; onDone: () => void }) {
  return (
    <div className="card notice" role="status">
      <p>
        One-time password for <strong>{who}</strong> (shown once; they must change it at first login):
      </p>
      <pre className="command">
        <code>{password}</code>
      </pre>
      <CopyButton text={password} label="Copy password" />{' '}
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

function CreateUser({ onCreated }: { onCreated: (who: string, password?: string) => void }) {
  const api = useApi();
  const uid = useId();
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password && password.length < MIN_PASSWORD_LENGTH) {
      setError(`The password must have at least ${MIN_PASSWORD_LENGTH} characters.`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const created = await api.createUser(username.trim(), role, password || undefined);
      onCreated(username.trim(), created?.password ?? undefined);
      setUsername('');
      setPassword('');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={submit} aria-labelledby={`${uid}-title`}>
      <h2 id={`${uid}-title`}>Add a user</h2>
      <div className="row">
        <div className="field-group">
          <label htmlFor={`${uid}-name`}>Username</label>
          <input id={`${uid}-name`} required maxLength={64} value={username} onChange={(e) => setUsername(e.target.value)} />
        </div>
        <div className="field-group">
          <label htmlFor={`${uid}-role`}>Role</label>
          <select id={`${uid}-role`} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="viewer">viewer</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <div className="field-group">
          <label htmlFor={`${uid}-pw`}>Initial password</label>
          <input
            id={`${uid}-pw`}
            type="password"
            autoComplete="new-password"
            aria-describedby={`${uid}-pw-hint`}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <small id={`${uid}-pw-hint`} className="muted">
            Empty: the master generates one. They must change it at first login.
          </small>
        </div>
      </div>
      <ErrorMessage message={error} />
      <button type="submit" className="primary" disabled={busy}>
        Add user
      </button>
    </form>
  );
}

export function Users() {
  const api = useApi();
  const auth = useAuth();
  const users = useQuery(auth.isAdmin ? 'users' : null, () => api.listUsers());
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ who: string; password: string } | null>(null);
  useEffect(() => {
    document.title = 'Users · DECNET';
  }, []);

  if (!auth.isAdmin) {
    return (
      <>
        <h1>Users</h1>
        <p role="alert">Only administrators manage users.</p>
      </>
    );
  }

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      users.reload();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <>
      <h1>Users</h1>
      <ErrorMessage message={users.error} />
      <ErrorMessage message={error} />
      {secret ? <OneTimePassword who={secret.who} password={secret.password} onDone={() => setSecret(null)} /> : null}
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Users">
        <table>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Role</th>
              <th scope="col">Must change password</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.data?.map((u) => {
              const self = u.id === auth.me?.id;
              return (
                <tr key={u.id}>
                  <th scope="row">
                    {u.username} {self ? <span className="muted">(you)</span> : null}
                  </th>
                  <td>
                    <label className="sr-only" htmlFor={`role-${u.id}`}>
                      Role of {u.username}
                    </label>
                    <select
                      id={`role-${u.id}`}
                      value={u.role}
                      disabled={self}
                      onChange={(e) => void act(() => api.setRole(u.username, e.target.value as Role))}
                    >
                      <option value="viewer">viewer</option>
                      <option value="admin">admin</option>
                    </select>
                  </td>
                  <td>{u.must_change_password ? 'yes' : 'no'}</td>
                  <td className="nowrap">
                    <Time ts={u.created_at} />
                  </td>
                  <td className="actions">
                    {!self ? (
                      <div>
                        <ConfirmButton
                          label="Reset password"
                          confirmLabel={`Reset the password of ${u.username}?`}
                          onConfirm={() =>
                            act(async () => {
                              const r = await api.resetPassword(u.username);
                              if (r?.password) setSecret({ who: u.username, password: r.password });
                            })
                          }
                        />
                        <ConfirmButton
                          label="Delete"
                          confirmLabel={`Delete ${u.username}?`}
                          onConfirm={() => act(() => api.deleteUser(u.username))}
                        />
                      </div>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <CreateUser
        onCreated={(who, password) => {
          if (password) setSecret({ who, password });
          users.reload();
        }}
      />
    </>
  );
}
