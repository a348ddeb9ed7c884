// Route guards: signed in, password changed, admin.

import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from '../auth/AuthContext';

export function RequireAuth({ children }: { children: ReactNode }) {
  const auth = useAuth();
  const location = useLocation();
  if (!auth.token) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  if (auth.mustChangePassword) return <Navigate to="/change-password" replace />;
  if (auth.loading || !auth.me) {
    return (
      <p role="status" className="loading-page">
        Loading…
      </p>
    );
  }
  return <>{children}</>;
}

/** Renders its children for admins only: a viewer never gets the admin forms in the DOM. */
export function AdminOnly({ children, fallback = null }: { children: ReactNode; fallback?: ReactNode }) {
  const auth = useAuth();
  return <>{auth.isAdmin ? children : fallback}</>;
}
