// The page frame: skip link, navigation (admin entries only for admins), user menu.

import { useEffect, useRef } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useAuth } from '../auth/AuthContext';

export function Layout() {
  const auth = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  // After a page change, screen readers and keyboard users start at the new content.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus({ preventScroll: true });
  }, [location.pathname]);
  const links: { to: string; label: string; admin?: boolean }[] = [
    { to: '/fleet', label: 'Fleet' },
    { to: '/events', label: 'Live events' },
    { to: '/attackers', label: 'Attackers' },
    { to: '/hosts', label: 'Hosts' },
    { to: '/users', label: 'Users', admin: true },
  ];
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand" aria-label="DECNET dashboard">
          DECNET
        </span>
        <nav aria-label="Main">
          <ul>
            {links
              .filter((l) => !l.admin || auth.isAdmin)
              .map((l) => (
                <li key={l.to}>
                  <NavLink to={l.to}>{l.label}</NavLink>
                </li>
              ))}
          </ul>
        </nav>
        <div className="user">
          <span>
            {auth.username} <span className="muted">({auth.role ?? '…'})</span>
          </span>
          <Link to="/change-password">Change password</Link>
          <button
            type="button"
            onClick={async () => {
              await auth.logout();
              navigate('/login', { replace: true });
            }}
          >
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1} ref={main}>
        <Outlet />
      </main>
    </>
  );
}
