// React binding of openStream: a live stream of the signed-in session.

import { useEffect, useRef, useState } from 'react';
import { useApi } from '../auth/AuthContext';
import { openStream } from './stream';
import type { StreamState } from './stream';

export function useStream<T>(
  route: string | null,
  onMessage: (data: T, id: string) => void,
): { state: StreamState; serverError: string | null; opens: number } {
  const api = useApi();
  const [state, setState] = useState<StreamState>('closed');
  const [serverError, setServerError] = useState<string | null>(null);
  // How many times the stream (re)opened: after a reconnect, callers backfill the gap.
  const [opens, setOpens] = useState(0);
  const handler = useRef(onMessage);
  handler.current = onMessage;

  useEffect(() => {
    if (route === null) {
      setState('closed');
      return;
    }
    setServerError(null);
    return openStream<T>(
      { route, getTicket: async () => (await api.sseTicket()).ticket },
      {
        onMessage: (data, id) => {
          setServerError(null);
          handler.current(data, id);
        },
        onState: (s) => {
          setState(s);
          if (s === 'open') setOpens((n) => n + 1);
        },
        onServerError: setServerError,
      },
    );
  }, [route, api]);

  return { state, serverError, opens };
}
