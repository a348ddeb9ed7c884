import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from '@playwright/test';
import type { Page } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));
export const run = promisify(execFile);

export interface Ran {
  /** Exit code, or -1 when killed (timeout) or not started. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program with `input` on its stdin (several chunks are typed `pauseMs` apart,
 * like a person at a keyboard); resolves with its exit code and output whatever the code.
 */
export function runWithInput(
  cmd: string,
  args: string[],
  input: string | string[] = '',
  timeoutMs = 30_000,
  pauseMs = 700,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    const chunks = typeof input === 'string' ? [input] : input;
    void (async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, pauseMs));
        if (child.exitCode !== null || child.stdin.destroyed) return;
        child.stdin.write(chunk);
      }
      child.stdin.end();
    })();
  });
}

export function base(): string {
  const url = process.env.DECNET_E2E_BASE_URL;
  if (!url) throw new Error('DECNET_E2E_BASE_URL is not set (global setup did not run?)');
  return url;
}

/** Saves a full-page screenshot under e2e/artifacts/screenshots/. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(here, 'artifacts', 'screenshots', `${name}.png`), fullPage: true });
}

/** Collects console errors, page errors (CSP violations included) and dialogs. */
export function watchConsole(page: Page): { errors: string[]; dialogs: string[] } {
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return { errors, dialogs };
}

export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(base() + '/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in through the API and returns a bearer token (for test set-up only). */
export async function apiToken(username: string, password: string): Promise<string> {
  const res = await fetch(base() + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status, 'API login').toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

export async function apiGet<T>(token: string, path: string): Promise<T> {
  const res = await fetch(base() + '/api/v1' + path, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status, `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

/** State shared by the tests of one run (kept beside its data directory, removed with it). */
function statePath(): string {
  const dir = process.env.DECNET_E2E_STATE_DIR ?? join(here, 'artifacts');
  return join(dir, 'e2e-state.json');
}

export function readState(): { adminPassword?: string } {
  const p = statePath();
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as { adminPassword?: string }) : {};
}

export function writeState(state: { adminPassword?: string }): void {
  writeFileSync(statePath(), JSON.stringify(state), { mode: 0o600 });
}
