// The signed-in session: the bearer token (sessionStorage, so it dies with the
// tab; never localStorage), who the user is and what they may do.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { ApiClient, ApiError } from '../api/client';
import type { LoginResponse, Me, Role } from '../api/types';

const TOKEN_KEY = 'decnet.token';

export interface AuthState {
  client: ApiClient;
  token: string | null;
  me: Me | null;
  username: string | null;
  role: Role | null;
  isAdmin: boolean;
  mustChangePassword: boolean;
  /** True while a token is being checked against /auth/me. */
  loading: boolean;
  login: (username: string, password: string) => Promise<{ mustChangePassword: boolean }>;
  changePassword: (currentPassword: string, newPassword: string) => Promise<void>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token: string | null) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the session lives in memory only */
  }
}

export function AuthProvider({ children, fetchImpl }: { children: ReactNode; fetchImpl?: typeof fetch }) {
  const [token, setToken] = useState<string | null>(() => readToken());
  const [me, setMe] = useState<Me | null>(null);
  const [mustChange, setMustChange] = useState(false);
  const [loading, setLoading] = useState<boolean>(() => readToken() !== null);
  const tokenRef = useRef<string | null>(token);
  tokenRef.current = token;

  const clear = useCallback(() => {
    storeToken(null);
    tokenRef.current = null;
    setToken(null);
    setMe(null);
    setMustChange(false);
    setLoading(false);
  }, []);

  const client = useMemo(
    () =>
      new ApiClient({
        getToken: () => tokenRef.current,
        onUnauthorized: clear,
        ...(fetchImpl ? { fetchImpl } : {}),
      }),
    [clear, fetchImpl],
  );

  /** Adopts a new token and loads who it belongs to (/auth/me works even before a password change). */
  const adopt = useCallback(
    async (res: LoginResponse) => {
      storeToken(res.access_token);
      tokenRef.current = res.access_token;
      setToken(res.access_token);
      setMustChange(res.must_change_password);
      setLoading(true);
      try {
        const m = await client.me();
        setMe(m);
        setMustChange(m.must_change_password);
        return m.must_change_password;
      } finally {
        setLoading(false);
      }
    },
    [client],
  );

  // A token kept from earlier in this tab: find out who it belongs to.
  useEffect(() => {
    if (!token || me) return;
    let cancelled = false;
    setLoading(true);
    client
      .me()
      .then((m) => {
        if (cancelled) return;
        setMe(m);
        setMustChange(m.must_change_password);
      })
      .catch((e: unknown) => {
        // A network failure keeps the token for a retry; anything else ends the session.
        if (!cancelled && !(e instanceof ApiError && e.status === 0)) clear();
      })
      .finally(() => {
        if (!cancelled) setLoading(false);
      });
    return () => {
      cancelled = true;
    };
    // Only a new token (or a lost `me`) needs a check.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token]);

  const login = useCallback(
    async (username: string, password: string) => {
      const res = await client.login(username, password);
      const mustChangePassword = await adopt(res);
      return { mustChangePassword };
    },
    [client, adopt],
  );

  const changePassword = useCallback(
    async (currentPassword: string, newPassword: string) => {
      // Every older token is revoked; the answer carries the new one.
      const res = await client.changePassword(currentPassword, newPassword);
      await adopt(res);
    },
    [client, adopt],
  );

  const logout = useCallback(async () => {
    try {
      if (tokenRef.current) await client.logout();
    } catch {
      /* the token is dropped either way */
    } finally {
      clear();
    }
  }, [client, clear]);

  const value = useMemo<AuthState>(() => {
    const role = me?.role ?? null;
    return {
      client,
      token,
      me,
      username: me?.username ?? null,
      role,
      isAdmin: role === 'admin',
      mustChangePassword: mustChange,
      loading,
      login,
      changePassword,
      logout,
    };
  }, [client, token, me, mustChange, loading, login, changePassword, logout]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The API client of the signed-in session. */
export function useApi(): ApiClient {
  return useAuth().client;
}
