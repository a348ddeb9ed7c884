// Starts `decnet-master up` on a random loopback port with a throwaway data
// directory, reads the one-time admin password from its stdout, and stops it
// (Ctrl-C, so PostgreSQL stops too) when the run ends.
//
// DECNET_MASTER_BIN   path to the binary; required unless
// DECNET_E2E_BASE_URL + DECNET_E2E_ADMIN_PASSWORD point at a master already running.
// `decnet-master up` runs its own agent (the `decnet-agent` binary next to it,
// enrolled as host `local`) with the demo fleet on 127.77.9.10-12, ports +20000.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_ENV } from './demo';

const here = dirname(fileURLToPath(import.meta.url));
const START_TIMEOUT_MS = 120_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForHttp(url: string, deadline: number, child: ChildProcess): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`decnet-master exited with ${child.exitCode} during start-up`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`decnet-master did not answer ${url} in time (${last})`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

async function checkDashboard(base: string): Promise<void> {
  const res = await fetch(base + '/');
  const html = await res.text();
  if (!html.includes('<div id="root">')) {
    throw new Error(
      `${base}/ does not serve the dashboard (HTTP ${res.status}). Build web/dist (npm run build) ` +
        'before building decnet-master, and mount crate::web_assets::serve as the router fallback.',
    );
  }
}

export default async function globalSetup(): Promise<(() => Promise<void>) | void> {
  const artifacts = join(here, 'artifacts');
  mkdirSync(join(artifacts, 'screenshots'), { recursive: true });

  if (process.env.DECNET_E2E_BASE_URL && process.env.DECNET_E2E_ADMIN_PASSWORD) {
    await checkDashboard(process.env.DECNET_E2E_BASE_URL);
    const stateDir = mkdtempSync(join(tmpdir(), 'decnet-e2e-state-'));
    process.env.DECNET_E2E_STATE_DIR = stateDir;
    return async () => rmSync(stateDir, { recursive: true, force: true });
  }
  const bin = process.env.DECNET_MASTER_BIN;
  if (!bin) throw new Error('set DECNET_MASTER_BIN to the decnet-master binary (e.g. ../target/debug/decnet-master)');
  const agentBin = process.env.DECNET_EMBEDDED__AGENT_BIN ?? join(dirname(bin), 'decnet-agent');
  if (!existsSync(agentBin)) {
    throw new Error(
      `${agentBin} is missing: \`decnet-master up\` runs the demo fleet on the decnet-agent binary next to it ` +
        '(cargo build -p decnet-master -p decnet-agent), or set DECNET_EMBEDDED__AGENT_BIN',
    );
  }

  const port = await freePort();
  // Short path: PostgreSQL's socket path must fit in 107 bytes.
  const dataDir = mkdtempSync(join(tmpdir(), 'decnet-e2e-'));
  // Run as root, the master runs PostgreSQL as an unprivileged user that must traverse it.
  chmodSync(dataDir, 0o711);
  const log = createWriteStream(join(artifacts, 'master.log'));
  const child = spawn(bin, ['up', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The mesh takes a free port so a master already on 8443 does not collide; the demo
    // fleet takes its own loopback addresses and ports (a host sshd may hold port 22).
    env: {
      ...process.env,
      RUST_LOG: process.env.RUST_LOG ?? 'info',
      DECNET_MESH__LISTEN: '127.0.0.1:0',
      ...DEMO_ENV,
    },
  });
  child.stderr?.pipe(log, { end: false });

  const password = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error('no "admin password:" line on stdout in time')), START_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk.toString().replace(/admin password: .*/g, 'admin password: <redacted>'));
      buffer += chunk.toString();
      const m = /^admin password: (\S+)\s*$/m.exec(buffer);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`decnet-master exited with ${code} before printing the admin password; see e2e/artifacts/master.log`));
    });
  }).catch(async (e: unknown) => {
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  });

  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/api/v1/health`, Date.now() + START_TIMEOUT_MS, child);
    await checkDashboard(base);
  } catch (e) {
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  process.env.DECNET_E2E_BASE_URL = base;
  process.env.DECNET_E2E_ADMIN_PASSWORD = password;
  process.env.DECNET_E2E_STATE_DIR = dataDir;

  return async () => {
    await stop(child);
    log.end();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
