// Follows a 202 tracking id until the deploy (or teardown) finishes.

import { useEffect, useState } from 'react';
import { useApi } from '../auth/AuthContext';
import type { Tracking } from '../api/types';
import { errorMessage } from '../api/useQuery';
import { StateBadge } from './StateBadge';

// `not_connected`: recorded, but no agent link could take it; nothing more will happen.
const FINAL = new Set(['succeeded', 'failed', 'not_connected', 'cancelled']);

export function isFinal(state: string): boolean {
  return FINAL.has(state.toLowerCase());
}

export function DeployProgress({
  trackingId,
  title,
  initial,
  onFinished,
  onDismiss,
}: {
  trackingId: string;
  title: string;
  /** The state answered with the 202, shown until the first poll. */
  initial?: Tracking;
  onFinished?: (status: Tracking) => void;
  /** Removes the card; offered once the request has finished. */
  onDismiss?: () => void;
}) {
  const api = useApi();
  const [status, setStatus] = useState<Tracking | null>(initial ?? null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const s = await api.deployStatus(trackingId);
        if (stop) return;
        setStatus(s);
        setError(null);
        if (isFinal(s.state)) {
          onFinished?.(s);
          return;
        }
      } catch (e) {
        if (stop) return;
        setError(errorMessage(e));
      }
      timer = setTimeout(() => void poll(), 1000);
    };
    void poll();
    return () => {
      stop = true;
      if (timer) clearTimeout(timer);
    };
    // onFinished is a notification; a new callback identity must not restart polling.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, trackingId]);

  return (
    <section className="card progress" aria-label={`${title} progress`}>
      <h3>
        {title} <StateBadge state={status?.state ?? 'pending'} />
      </h3>
      <p className="muted">
        Tracking id <code>{trackingId}</code>
      </p>
      {status && isFinal(status.state) ? null : <progress aria-label={`${title} in progress`} />}
      <div role="status" aria-live="polite">
        {status?.message ? <p>{status.message}</p> : null}
        {error ? <p className="error">{error}</p> : null}
      </div>
      {status?.deckies?.length ? (
        <p>
          Deckies: <span className="mono">{status.deckies.join(', ')}</span>
        </p>
      ) : null}
      {onDismiss && status && isFinal(status.state) ? (
        <button type="button" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </section>
  );
}
