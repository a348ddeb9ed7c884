import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { RequireAuth } from './components/Guards';
import { Layout } from './components/Layout';
import { AttackerDetail } from './pages/AttackerDetail';
import { Attackers } from './pages/Attackers';
import { ChangePassword } from './pages/ChangePassword';
import { Events } from './pages/Events';
import { Fleet } from './pages/Fleet';
import { Hosts } from './pages/Hosts';
import { Login } from './pages/Login';
import { NotFound } from './pages/NotFound';
import { Users } from './pages/Users';

// The terminal player (with its WebAssembly core) loads only when a replay is opened.
const SessionReplay = lazy(() => import('./pages/SessionReplay').then((m) => ({ default: m.SessionReplay })));

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route path="/change-password" element={<ChangePassword />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<Navigate to="/fleet" replace />} />
        <Route path="/fleet" element={<Fleet />} />
        <Route path="/events" element={<Events />} />
        <Route path="/attackers" element={<Attackers />} />
        <Route path="/attackers/:id" element={<AttackerDetail />} />
        <Route
          path="/sessions/:sid"
          element={
            <Suspense fallback={<p role="status">Loading the player…</p>}>
              <SessionReplay />
            </Suspense>
          }
        />
        <Route path="/hosts" element={<Hosts />} />
        <Route path="/users" element={<Users />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
