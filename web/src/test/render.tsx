import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { AuthProvider } from '../auth/AuthContext';
import { App } from '../App';

/** Renders the whole application at `path` against a fake API. */
export function renderApp(path: string, fetchImpl: typeof fetch) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider fetchImpl={fetchImpl}>
        <App />
      </AuthProvider>
    </MemoryRouter>,
  );
}

/** Renders one element inside the providers, at `path` matched by `pattern`. */
export function renderWithAuth(ui: ReactElement, fetchImpl: typeof fetch, path = '/', pattern = '*') {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider fetchImpl={fetchImpl}>
        <Routes>
          <Route path={pattern} element={ui} />
        </Routes>
      </AuthProvider>
    </MemoryRouter>,
  );
}
