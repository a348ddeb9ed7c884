// Hosts: the agents of the swarm; admins create enrollment tokens (with the
// exact command to run on the sensor host) and revoke hosts.

import { useEffect, useId, useState } from 'react';
import type { FormEvent } from 'react';
import { useApi, useAuth } from '../auth/AuthContext';
import type { EnrollToken } from '../api/types';
import { errorMessage, useQuery } from '../api/useQuery';
import { AdminOnly } from '../components/Guards';
import { ConfirmButton } from '../components/ConfirmButton';
import { CopyButton } from '../components/CopyButton';
import { ErrorMessage } from '../components/ErrorMessage';
import { StateBadge } from '../components/StateBadge';
import { Time } from '../components/Time';

/** Quotes a shell word when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command an operator runs on the new sensor host. */
export function enrollCommand(token: EnrollToken): string {
  if (token.command) return token.command;
  return ['decnet-agent', 'enroll', '--token', shellQuote(token.token)].join(' ');
}

function EnrollForm({ onCreated }: { onCreated: () => void }) {
  const api = useApi();
  const uid = useId();
  const [name, setName] = useState('');
  const [token, setToken] = useState<EnrollToken | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setToken(await api.createEnrollToken(name.trim()));
      onCreated();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const command = token ? enrollCommand(token) : '';
  return (
    <section className="card" aria-labelledby={`${uid}-title`}>
      <h2 id={`${uid}-title`}>Enroll a host</h2>
      <form onSubmit={submit}>
        <div className="field-group">
          <label htmlFor={`${uid}-name`}>Host name</label>
          <input
            id={`${uid}-name`}
            value={name}
            required
            maxLength={63}
            pattern="[a-z0-9][a-z0-9\-]{0,62}"
            aria-describedby={`${uid}-name-hint`}
            onChange={(e) => setName(e.target.value)}
          />
          <small id={`${uid}-name-hint`} className="muted">
            Lower-case letters, digits and dashes; the agent enrolls under this name.
          </small>
        </div>
        <button type="submit" className="primary" disabled={busy}>
          Create enrollment token
        </button>
      </form>
      <ErrorMessage message={error} />
      {token ? (
        <div className="enroll-result" role="status">
          <p>
            Run this on the sensor host{token.host_name ? <> <strong>{token.host_name}</strong></> : null}
            {token.expires_at ? (
              <>
                {' '}
                before <Time ts={token.expires_at} />
              </>
            ) : null}
            ; the token works once and is shown only now.
          </p>
          <pre className="command" aria-label="Enrollment command">
            <code>{command}</code>
          </pre>
          <CopyButton text={command} label="Copy command" />
        </div>
      ) : null}
    </section>
  );
}

export function Hosts() {
  const api = useApi();
  const { isAdmin } = useAuth();
  const hosts = useQuery('hosts', () => api.listHosts(), 5000);
  const [actionError, setActionError] = useState<string | null>(null);
  useEffect(() => {
    document.title = 'Hosts · DECNET';
  }, []);

  const revoke = async (name: string) => {
    setActionError(null);
    try {
      await api.revokeHost(name);
      hosts.reload();
    } catch (e) {
      setActionError(errorMessage(e));
    }
  };

  return (
    <>
      <h1>Hosts</h1>
      <ErrorMessage message={hosts.error} />
      <ErrorMessage message={actionError} />
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Hosts">
        <table>
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">Link</th>
              <th scope="col">Status</th>
              <th scope="col">Version</th>
              <th scope="col">RTT</th>
              <th scope="col">Last seen</th>
              <th scope="col">Certificate fingerprints</th>
              {isAdmin ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {hosts.data?.length === 0 ? (
              <tr>
                <td colSpan={isAdmin ? 8 : 7} className="muted">
                  No hosts.
                </td>
              </tr>
            ) : null}
            {hosts.data?.map((h) => (
              <tr key={h.id}>
                <th scope="row">
                  {h.name} {h.embedded ? <span className="muted">(embedded)</span> : null}
                </th>
                <td>
                  <StateBadge state={h.link?.state ?? 'unknown'} />
                </td>
                <td>
                  <StateBadge state={h.status} />
                </td>
                <td>{h.link?.agent_version ?? h.agent_version ?? '—'}</td>
                <td className="num">{h.link?.rtt_ms != null ? `${h.link.rtt_ms.toFixed(1)} ms` : '—'}</td>
                <td className="nowrap">
                  <Time ts={h.last_seen} />
                </td>
                <td className="mono hash">{h.cert_fingerprints?.length ? h.cert_fingerprints.join(' ') : '—'}</td>
                {isAdmin ? (
                  <td>
                    {h.status !== 'revoked' ? (
                      <ConfirmButton label="Revoke" confirmLabel={`Revoke ${h.name}?`} onConfirm={() => revoke(h.name)} />
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <AdminOnly>
        <EnrollForm onCreated={hosts.reload} />
      </AdminOnly>
    </>
  );
}
