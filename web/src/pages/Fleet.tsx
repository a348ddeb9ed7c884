// Fleet: every host (agent) with its link state, version and RTT, and under
// each its deckies with IP, persona, services and live state. Admins deploy
// (an INI fleet file, or an archetype and a count) and tear down.

import { useEffect, useId, useState } from 'react';
import type { FormEvent } from 'react';
import { useApi, useAuth } from '../auth/AuthContext';
import { ARCHETYPES } from '../api/archetypes';
import type { Decky, DeckyService, DeckySpec, DeployRequest, Host, Tracking } from '../api/types';
import { errorMessage, useQuery } from '../api/useQuery';
import { AdminOnly } from '../components/Guards';
import { ConfirmButton } from '../components/ConfirmButton';
import { DeployProgress } from '../components/DeployProgress';
import { ErrorMessage } from '../components/ErrorMessage';
import { StateBadge } from '../components/StateBadge';
import { Time } from '../components/Time';

const REFRESH_MS = 5000;

export interface HostGroup {
  key: string;
  /** The enrolled host, or null for the embedded agent / a host not (or no longer) listed. */
  host: Host | null;
  /** Host name as the deckies give it ('' for the embedded agent). */
  name: string;
  deckies: Decky[];
}

/** Puts each decky under its host by name; the embedded agent's deckies (host '') come first. */
export function groupByHost(hosts: Host[], deckies: Decky[]): HostGroup[] {
  const embedded: HostGroup = { key: '(embedded)', host: null, name: '', deckies: [] };
  const groups: HostGroup[] = hosts.map((host) => ({ key: host.id, host, name: host.name, deckies: [] }));
  const others = new Map<string, HostGroup>();
  for (const d of deckies) {
    if (!d.host) {
      embedded.deckies.push(d);
      continue;
    }
    let g = groups.find((g) => g.name === d.host);
    if (!g) {
      g = others.get(d.host);
      if (!g) {
        g = { key: `(unlisted) ${d.host}`, host: null, name: d.host, deckies: [] };
        others.set(d.host, g);
      }
    }
    g.deckies.push(d);
  }
  return [...(embedded.deckies.length ? [embedded] : []), ...groups, ...others.values()];
}

/** Archetype deployments: `count` deckies named `<archetype>-<n>`, skipping names in use. */
export function archetypeDeckies(archetype: string, count: number, taken: Iterable<string>): DeckySpec[] {
  const used = new Set(taken);
  const out: DeckySpec[] = [];
  for (let n = 1; out.length < count; n++) {
    const name = `${archetype}-${n}`.slice(0, 64);
    if (used.has(name)) continue;
    used.add(name);
    out.push({ name, archetype });
  }
  return out;
}

/**
 * The fleet INI file of an archetype deployment: one section per decky. Agents take
 * INI fleet files only (the master refuses JSON decky specs); addresses, hostnames
 * and distros are chosen by the agent.
 */
export function archetypeIni(deckies: DeckySpec[]): string {
  return deckies.map((d) => `[${d.name}]\narchetype = ${String(d.archetype ?? '')}\n`).join('\n');
}

function serviceLabel(s: DeckyService): string {
  return s.port != null ? `${s.service}/${s.port}` : s.service;
}

function formatRtt(ms: number | null | undefined): string {
  return ms != null ? `${ms.toFixed(1)} ms` : '—';
}

function HostHeader({ group }: { group: HostGroup }) {
  const host = group.host;
  if (!host) {
    return group.name === '' ? (
      <h2>
        Embedded agent <span className="muted">(decnet-master up)</span>
      </h2>
    ) : (
      <h2>
        {group.name} <span className="muted">(not an enrolled host)</span>
      </h2>
    );
  }
  return (
    <>
      <h2>{host.name}</h2>
      <dl className="inline">
        <dt>Link</dt>
        <dd>
          <StateBadge state={host.link?.state ?? 'unknown'} />
        </dd>
        <dt>Status</dt>
        <dd>
          <StateBadge state={host.status} />
        </dd>
        <dt>Version</dt>
        <dd>{host.link?.agent_version ?? host.agent_version ?? '—'}</dd>
        <dt>RTT</dt>
        <dd>{formatRtt(host.link?.rtt_ms)}</dd>
        <dt>Last seen</dt>
        <dd>
          <Time ts={host.last_seen} />
        </dd>
      </dl>
    </>
  );
}

function DeckyTable({ deckies, onTeardown }: { deckies: Decky[]; onTeardown: (name: string) => Promise<void> }) {
  const { isAdmin } = useAuth();
  if (deckies.length === 0) return <p className="muted">No deckies on this host.</p>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Decky</th>
            <th scope="col">IP</th>
            <th scope="col">Persona</th>
            <th scope="col">Services</th>
            <th scope="col">State</th>
            {isAdmin ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {deckies.map((d) => (
            <tr key={d.name} data-decky={d.name}>
              <th scope="row">{d.name}</th>
              <td>
                <code>{d.ip ?? '—'}</code>
              </td>
              <td>
                {d.persona ?? '—'}
                {d.os ? <span className="muted"> ({d.os})</span> : null}
              </td>
              <td>
                <ul className="chips" aria-label={`services of ${d.name}`}>
                  {d.services.map((s) => (
                    <li key={serviceLabel(s)} className="chip">
                      {serviceLabel(s)}
                      {s.state ? <> · {s.state}</> : null}
                    </li>
                  ))}
                </ul>
              </td>
              <td>
                <StateBadge state={d.state} />
                {d.last_error ? <div className="error small">{d.last_error}</div> : null}
              </td>
              {isAdmin ? (
                <td>
                  <ConfirmButton label="Tear down" confirmLabel={`Tear down ${d.name}?`} onConfirm={() => onTeardown(d.name)} />
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeployForm({
  hosts,
  deckies,
  onAccepted,
}: {
  hosts: Host[];
  deckies: Decky[];
  onAccepted: (t: Tracking) => void;
}) {
  const api = useApi();
  const uid = useId();
  const [mode, setMode] = useState<'archetype' | 'ini'>('archetype');
  const [ini, setIni] = useState('');
  const [archetype, setArchetype] = useState(ARCHETYPES[0]?.name ?? '');
  const [count, setCount] = useState(1);
  const [host, setHost] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    let request: DeployRequest;
    if (mode === 'ini') {
      if (!ini.trim()) {
        setError('Paste an INI fleet file first.');
        return;
      }
      request = { ini };
    } else {
      if (!Number.isInteger(count) || count < 1 || count > 500) {
        setError('The count must be a whole number from 1 to 500.');
        return;
      }
      request = { ini: archetypeIni(archetypeDeckies(archetype, count, deckies.map((d) => d.name))) };
    }
    if (host) request.host = host;
    setBusy(true);
    try {
      onAccepted(await api.deploy(request));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={submit} aria-labelledby={`${uid}-title`}>
      <h2 id={`${uid}-title`}>Deploy</h2>
      <fieldset>
        <legend>What to deploy</legend>
        <label className="inline-label">
          <input type="radio" name={`${uid}-mode`} checked={mode === 'archetype'} onChange={() => setMode('archetype')} />
          An archetype and a count
        </label>
        <label className="inline-label">
          <input type="radio" name={`${uid}-mode`} checked={mode === 'ini'} onChange={() => setMode('ini')} />
          An INI fleet file
        </label>
      </fieldset>
      {mode === 'archetype' ? (
        <div className="row">
          <div className="field-group">
            <label htmlFor={`${uid}-arch`}>Archetype</label>
            <select id={`${uid}-arch`} value={archetype} onChange={(e) => setArchetype(e.target.value)}>
              {ARCHETYPES.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name} ({a.services.join(', ')})
                </option>
              ))}
            </select>
          </div>
          <div className="field-group">
            <label htmlFor={`${uid}-count`}>Count</label>
            <input
              id={`${uid}-count`}
              type="number"
              min={1}
              max={500}
              value={count}
              onChange={(e) => setCount(Number(e.target.value))}
            />
          </div>
        </div>
      ) : (
        <div className="field-group">
          <label htmlFor={`${uid}-ini`}>INI fleet file</label>
          <textarea
            id={`${uid}-ini`}
            rows={10}
            spellCheck={false}
            placeholder={'[decky-web]\narchetype = web-server\namount = 2'}
            value={ini}
            onChange={(e) => setIni(e.target.value)}
          />
        </div>
      )}
      <div className="field-group">
        <label htmlFor={`${uid}-host`}>Host</label>
        <select id={`${uid}-host`} value={host} onChange={(e) => setHost(e.target.value)}>
          <option value="">Default (the embedded agent)</option>
          {hosts
            .filter((h) => h.status !== 'revoked')
            .map((h) => (
              <option key={h.id} value={h.name}>
                {h.name} ({h.link?.state ?? h.status})
              </option>
            ))}
        </select>
      </div>
      <ErrorMessage message={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Submitting…' : 'Deploy'}
      </button>
    </form>
  );
}

export function Fleet() {
  const api = useApi();
  const [tracking, setTracking] = useState<{ id: string; title: string; initial: Tracking }[]>([]);
  const [actionError, setActionError] = useState<string | null>(null);
  useEffect(() => {
    document.title = 'Fleet · DECNET';
  }, []);
  const hosts = useQuery('hosts', () => api.listHosts(), REFRESH_MS);
  const deckies = useQuery('deckies', () => api.listDeckies(), REFRESH_MS);

  const groups = groupByHost(hosts.data ?? [], deckies.data ?? []);
  const teardown = async (name: string) => {
    setActionError(null);
    try {
      const accepted = await api.teardown(name);
      if (accepted?.id) {
        setTracking((t) => [...t, { id: accepted.id, title: `Teardown of ${name}`, initial: accepted }]);
      }
      deckies.reload();
    } catch (e) {
      setActionError(errorMessage(e));
    }
  };

  return (
    <>
      <h1>Fleet</h1>
      <ErrorMessage message={hosts.error ?? deckies.error} />
      <ErrorMessage message={actionError} />
      {tracking.map((t) => (
        <DeployProgress
          key={t.id}
          trackingId={t.id}
          title={t.title}
          initial={t.initial}
          onDismiss={() => setTracking((all) => all.filter((x) => x.id !== t.id))}
          onFinished={() => {
            deckies.reload();
            hosts.reload();
          }}
        />
      ))}
      <div className="split">
        <div className="fleet-hosts">
          {hosts.loading && !hosts.data ? <p role="status">Loading the fleet…</p> : null}
          {hosts.data && groups.length === 0 ? <p className="muted">No deckies and no enrolled hosts yet. Deploy deckies on the embedded agent, or enroll a host on the Hosts page.</p> : null}
          {groups.map((g) => (
            <section
              key={g.key}
              className="card host"
              aria-label={g.name === '' ? 'host embedded agent' : `host ${g.name}`}
            >
              <HostHeader group={g} />
              <DeckyTable deckies={g.deckies} onTeardown={teardown} />
            </section>
          ))}
        </div>
        <AdminOnly>
          <aside className="fleet-deploy" aria-label="Deploy deckies">
            <DeployForm
              hosts={hosts.data ?? []}
              deckies={deckies.data ?? []}
              onAccepted={(accepted) => setTracking((t) => [...t, { id: accepted.id, title: 'Deploy', initial: accepted }])}
            />
          </aside>
        </AdminOnly>
      </div>
    </>
  );
}
