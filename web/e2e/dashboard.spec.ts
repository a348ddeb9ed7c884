// The operator's journey through the dashboard against a real `decnet-master up`:
// sign in with the one-time password, change it, see the fleet, watch events
// arrive live from a real `ssh` login, inspect the attacker and replay the
// session; enroll a host; manage users; a viewer sees no admin actions.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { apiGet, apiToken, base, readState, runWithInput, shot, signIn, watchConsole, writeState } from './helpers';
import type { Ran } from './helpers';
import { DEMO_DECKIES, DEMO_HOST, WEB01_ROOT_PASSWORDS } from './demo';

const XSS = '<img src=x onerror=alert(1)>';
const NEW_ADMIN_PASSWORD = `e2e-admin-${Date.now()}-pw`;
const ONE_TIME_PASSWORD = process.env.DECNET_E2E_ADMIN_PASSWORD ?? '';

// Tests run in file order in one worker. A failed test restarts the worker, so the admin
// password chosen by the first test is kept in a file of this run, not in a variable.
function adminPassword(): string {
  return readState().adminPassword ?? ONE_TIME_PASSWORD;
}

let console_: ReturnType<typeof watchConsole>;
test.beforeEach(({ page }) => {
  console_ = watchConsole(page);
});
test.afterEach(() => {
  expect(console_.errors, 'console errors').toEqual([]);
  expect(console_.dialogs, 'dialogs (an attacker string ran as script?)').toEqual([]);
});

async function signInAsAdmin(page: Page) {
  await signIn(page, 'admin', adminPassword());
  await expect(page.getByRole('heading', { name: 'Fleet' })).toBeVisible();
}

interface DeckyRow {
  name: string;
  host: string;
  ip?: string | null;
  state: string;
  services: { service: string; port?: number | null }[];
}

interface SshTarget {
  decky: string;
  ip: string;
  port: number;
}

/** web-01 of the demo fleet once it runs: address and SSH port to attack. */
async function sshTarget(): Promise<SshTarget> {
  const token = await apiToken('admin', adminPassword());
  let target: SshTarget | undefined;
  await expect
    .poll(
      async () => {
        const deckies = await apiGet<DeckyRow[]>(token, '/deckies');
        const d = deckies.find((x) => x.name === 'web-01' && x.state === 'running');
        const ssh = d?.services.find((s) => s.service === 'ssh');
        if (d?.ip && ssh?.port) target = { decky: d.name, ip: d.ip, port: ssh.port };
        return target;
      },
      { message: 'demo decky web-01 running with ssh', timeout: 60_000 },
    )
    .toBeTruthy();
  return target as SshTarget;
}

const SSH_OPTIONS = [
  '-o', 'StrictHostKeyChecking=no',
  '-o', 'UserKnownHostsFile=/dev/null',
  '-o', 'PubkeyAuthentication=no',
  '-o', 'PreferredAuthentications=password,keyboard-interactive',
  '-o', 'NumberOfPasswordPrompts=1',
  '-o', 'ConnectTimeout=10',
  '-o', 'LogLevel=ERROR',
];

/** A real OpenSSH client (sshpass types the password); `input` goes to its stdin. */
function ssh(password: string, args: string[], input: string | string[] = ''): Promise<Ran> {
  return runWithInput('sshpass', ['-p', password, 'ssh', ...SSH_OPTIONS, ...args], input, 30_000);
}

/** Logs in to web-01 as root with its weak password: `ssh -p PORT root@IP COMMAND`. */
async function rootLogin(t: SshTarget, sshArgs: string[], input: string | string[] = ''): Promise<{ password: string; ran: Ran }> {
  const tried: string[] = [];
  for (const password of WEB01_ROOT_PASSWORDS) {
    const ran = await ssh(password, ['-p', String(t.port), ...sshArgs.map((a) => a.replace('TARGET', `root@${t.ip}`))], input);
    if (ran.code === 0) return { password, ran };
    tried.push(`${password}: exit ${ran.code} ${ran.stderr.trim()}`);
    // 5 is sshpass's "wrong password"; anything else is not worth trying further.
    if (ran.code !== 5 && !/Permission denied/.test(ran.stderr)) break;
  }
  throw new Error(`no root login on ${t.decky}:\n${tried.join('\n')}`);
}

/**
 * A login attempt with an attacker-chosen user name. OpenSSH refuses shell
 * metacharacters in a user name given on its command line, but takes a quoted
 * `User` from a configuration file.
 */
async function loginAs(t: SshTarget, user: string, password: string): Promise<Ran> {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-e2e-ssh-'));
  try {
    const config = join(dir, 'config');
    writeFileSync(config, `Host decky\n  HostName ${t.ip}\n  Port ${t.port}\n  User "${user}"\n`, { mode: 0o600 });
    return await ssh(password, ['-F', config, 'decky', 'id']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('sign in with the one-time password and change it', async ({ page }) => {
  expect(ONE_TIME_PASSWORD, 'one-time admin password from stdout').not.toBe('');
  await page.goto(base() + '/');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await shot(page, '01-login');

  await signIn(page, 'admin', ONE_TIME_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Change password' })).toBeVisible();
  await expect(page.getByText('You must choose a new password')).toBeVisible();
  await shot(page, '02-change-password');

  await page.getByLabel('Current password').fill(ONE_TIME_PASSWORD);
  await page.getByLabel('New password', { exact: true }).fill(NEW_ADMIN_PASSWORD);
  await page.getByLabel('Repeat the new password').fill(NEW_ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('heading', { name: 'Fleet' })).toBeVisible();
  writeState({ adminPassword: NEW_ADMIN_PASSWORD });

  // The token lives in sessionStorage, never in localStorage.
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
  expect(await page.evaluate(() => sessionStorage.getItem('decnet.token'))).toBeTruthy();
  await expect(page.getByRole('link', { name: 'Users' })).toBeVisible();
  await shot(page, '03-fleet');
});

test('the fleet shows the demo fleet with its hosts and deckies', async ({ page }) => {
  await signInAsAdmin(page);
  // `decnet-master up` enrolled its own agent as host `local`, linked over the mesh.
  const host = page.getByRole('region', { name: `host ${DEMO_HOST}` });
  await expect(host.getByRole('heading', { name: DEMO_HOST, exact: true })).toBeVisible();
  const facts = host.locator('dl');
  await expect(facts.locator('dt:has-text("Link") + dd')).toHaveText('up');
  await expect(facts.locator('dt:has-text("Status") + dd')).toHaveText('online');
  await expect(facts.locator('dt:has-text("Version") + dd')).toHaveText(/^\d+\.\d+\.\d+/);
  await expect(facts.locator('dt:has-text("RTT") + dd')).toHaveText(/^\d+\.\d ms$/);

  for (const d of DEMO_DECKIES) {
    const row = host.getByRole('row').filter({ has: page.getByRole('rowheader', { name: d.name, exact: true }) });
    await expect(row.getByRole('cell').first()).toHaveText(d.ip);
    const services = row.getByRole('list', { name: `services of ${d.name}` });
    for (const svc of d.services) await expect(services.getByRole('listitem').filter({ hasText: svc })).toHaveCount(1);
    // Live state, refreshed every 5 s from the agent's state notices.
    await expect(row.locator('.badge').first()).toHaveText('running', { timeout: 60_000 });
  }
  await expect(page.getByRole('button', { name: 'Deploy' })).toBeVisible();
  await shot(page, '03b-demo-fleet');
});

test('an admin deploys an archetype and follows its tracking id', async ({ page }) => {
  await signInAsAdmin(page);
  await page.getByLabel('Archetype', { exact: true }).selectOption('linux-server');
  await page.getByLabel('Count', { exact: true }).fill('2');
  await page.getByRole('button', { name: 'Deploy' }).click();
  const progress = page.getByRole('region', { name: 'Deploy progress' }).last();
  await expect(progress.getByText(/^Tracking id /)).toBeVisible();
  // The master answers 202 with an honest state (not_connected until an agent link takes it).
  await expect(progress.locator('.badge')).toHaveText(/not_connected|dispatched|running|succeeded|failed/);
  await shot(page, '03c-deploy');
});

test('an admin deploys an INI fleet file on the demo host, sees it run, and tears it down', async ({ page }) => {
  test.setTimeout(150_000);
  await signInAsAdmin(page);
  // An address next to the demo fleet and ports no host service holds.
  const ini = [
    '[e2e-ini-01]',
    'ip = 127.77.9.20',
    'services = ssh, http',
    'hostname = e2e-ini',
    '',
    '[e2e-ini-01.ssh]',
    'port = 20122',
    '',
    '[e2e-ini-01.http]',
    'port = 20180',
    '',
  ].join('\n');
  await page.getByLabel('An INI fleet file').check();
  await page.getByLabel('INI fleet file', { exact: true }).fill(ini);
  await page.getByLabel('Host', { exact: true }).selectOption(DEMO_HOST);
  await page.getByRole('button', { name: 'Deploy' }).click();
  const progress = page.getByRole('region', { name: 'Deploy progress' }).last();
  await expect(progress.getByText(/^Tracking id /)).toBeVisible();
  await expect(progress.locator('.badge')).toHaveText('succeeded', { timeout: 60_000 });

  const host = page.getByRole('region', { name: `host ${DEMO_HOST}` });
  const row = host.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'e2e-ini-01', exact: true }) });
  await expect(row.getByRole('cell').first()).toHaveText('127.77.9.20');
  await expect(row.getByRole('list', { name: 'services of e2e-ini-01' })).toContainText('ssh/20122');
  await expect(row.locator('.badge').first()).toHaveText('running', { timeout: 60_000 });
  await shot(page, '03d-deploy-ini');

  await row.getByRole('button', { name: 'Tear down' }).click();
  await row.getByRole('group', { name: 'Tear down e2e-ini-01?' }).getByRole('button', { name: 'Yes' }).click();
  const teardown = page.getByRole('region', { name: 'Teardown of e2e-ini-01 progress' });
  await expect(teardown.locator('.badge')).toHaveText('succeeded', { timeout: 60_000 });
  await expect(row).toHaveCount(0, { timeout: 30_000 });
  await shot(page, '03e-teardown');
});

test('live events open the stream with a ticket and draw the histogram', async ({ page }) => {
  await signInAsAdmin(page);
  const tickets: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/stream')) tickets.push(r.url());
  });
  await page.getByRole('link', { name: 'Live events' }).click();
  await expect(page.getByRole('heading', { name: 'Live events' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Stream:' })).toContainText('open');
  await expect(page.getByTestId('histogram')).toBeVisible();
  expect(tickets.length).toBeGreaterThan(0);
  for (const url of tickets) {
    expect(url).toMatch(/[?&]ticket=/);
    expect(url).not.toMatch(/token=|eyJ/); // never a JWT in the query
  }

  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Stream:' })).toContainText('paused');
  await page.getByRole('button', { name: /Resume/ }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Stream:' })).toContainText('open');

  await page.getByLabel('Search').fill('service:ssh "unclosed');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'unclosed quote' })).toBeVisible();
  await page.getByLabel('Search').fill('service:ssh');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/q=service%3Assh/);
  await shot(page, '04-events');
});

test('the hosts page lists the enrolled hosts', async ({ page }) => {
  await signInAsAdmin(page);
  await page.getByRole('link', { name: 'Hosts' }).click();
  await expect(page.getByRole('heading', { name: 'Hosts' })).toBeVisible();
  const hosts = page.getByRole('region', { name: 'Hosts' });
  const local = hosts.getByRole('row').filter({ has: page.getByRole('rowheader', { name: DEMO_HOST }) });
  await expect(local.locator('.badge').nth(0)).toHaveText('up');
  await expect(local.locator('.badge').nth(1)).toHaveText('online');
  await expect(page.getByRole('button', { name: 'Create enrollment token' })).toBeVisible();
  await shot(page, '07a-hosts');
});

test('a real ssh login arrives live, and its credential is on the attacker page', async ({ page }) => {
  test.setTimeout(150_000);
  const target = await sshTarget();
  await signInAsAdmin(page);
  await page.goto(base() + '/events?q=' + encodeURIComponent(`decky:${target.decky} service:ssh`));
  await expect(page.getByRole('status').filter({ hasText: 'Stream:' })).toContainText('open');
  // From here on, rows can only come over the SSE stream: the page does not poll.
  const refetches: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/events') refetches.push(r.url());
  });

  // ssh -p PORT root@IP 'uname -a; id', with web-01's weak root password.
  const { password, ran } = await rootLogin(target, ['TARGET', 'uname -a; id']);
  expect(ran.stdout).toContain('Linux web-01');
  expect(ran.stdout).toContain('uid=0(root)');
  // The user name is attacker-controlled: a failed login with an HTML payload as user name.
  const xssPassword = `e2e-xss-${Date.now()}`;
  const xss = await loginAs(target, XSS, xssPassword);
  expect(xss.code, xss.stderr).not.toBe(0);
  expect(xss.stderr).toContain('Permission denied');

  const rows = page.getByRole('row');
  const success = rows.filter({ hasText: 'outcome=success' }).filter({ hasText: `secret_printable=${password}` }).first();
  await expect(success).toBeVisible({ timeout: 30_000 });
  await expect(success).toContainText('principal=root');
  await expect(success).toContainText(target.decky);
  await expect(rows.filter({ hasText: 'cmd=uname -a; id' }).first()).toBeVisible();
  const failed = rows.filter({ hasText: `secret_printable=${xssPassword}` }).first();
  await expect(failed).toBeVisible({ timeout: 30_000 });
  await expect(failed).toContainText('outcome=failure');
  // The payload is shown as text, never run as HTML.
  await expect(failed.getByText(XSS, { exact: true })).toBeVisible();
  expect(await page.locator('main img').count()).toBe(0);
  expect(refetches, 'events arrived over SSE, not by reloading').toEqual([]);
  // The histogram counts them too.
  await expect(page.getByTestId('histogram')).toBeVisible();
  await expect(page.getByText('No events in this time range.')).toHaveCount(0, { timeout: 20_000 });
  await shot(page, '04b-events-live');

  await page.getByRole('link', { name: 'Attackers' }).click();
  await page.getByRole('link', { name: '127.0.0.1', exact: true }).first().click();
  await expect(page.getByRole('heading', { name: 'Attacker 127.0.0.1' })).toBeVisible();
  const creds = page.getByRole('region', { name: 'Credentials tried' });
  const root = creds.getByRole('row').filter({ hasText: 'root' }).filter({ hasText: password });
  await expect(root).toContainText('success');
  await expect(root).toContainText(target.decky);
  const xssRow = creds.getByRole('row').filter({ hasText: xssPassword });
  await expect(xssRow).toContainText('failure');
  await expect(xssRow.getByRole('cell', { name: XSS, exact: true })).toBeVisible();
  expect(await page.locator('main img').count()).toBe(0);
  await shot(page, '05-attacker');
});

test('the attackers page lists attackers', async ({ page }) => {
  await signInAsAdmin(page);
  await page.getByRole('link', { name: 'Attackers' }).click();
  await expect(page.getByRole('heading', { name: 'Attackers' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Attackers' })).toBeVisible();
  await page.getByLabel('Sort by').selectOption('active');
  await shot(page, '05a-attackers');
});

test('a recorded ssh session replays with speed control and seeking', async ({ page }) => {
  const target = await sshTarget();
  // An interactive login (a pty: -tt) is recorded; the shell reads the keystrokes from
  // stdin, typed a moment apart so the recording lasts a few seconds.
  const marker = `e2e-replay-${Date.now()}`;
  const { ran } = await rootLogin(target, ['-tt', 'TARGET'], ['', `echo ${marker}; uname -a\n`, 'id\n', 'ls -la /tmp\n', 'exit\n']);
  expect(ran.stdout).toContain(marker);

  // The session of that shell, from its `command` event.
  const token = await apiToken('admin', adminPassword());
  let sid = '';
  await expect
    .poll(
      async () => {
        const page_ = await apiGet<{ events: { session_id?: string | null; fields: Record<string, string> }[] }>(
          token,
          '/events?search=' + encodeURIComponent(`decky:${target.decky} event:command`) + '&limit=50',
        );
        sid = page_.events.find((e) => e.fields.cmd?.includes(marker))?.session_id ?? '';
        return sid;
      },
      { message: 'the command event of the recorded session', timeout: 30_000 },
    )
    .not.toBe('');

  await signInAsAdmin(page);
  await page.getByRole('link', { name: 'Attackers' }).click();
  await page.getByRole('link', { name: '127.0.0.1', exact: true }).first().click();
  const replay = page.getByRole('link', { name: `Replay session ${sid}` });
  await expect(replay).toBeVisible({ timeout: 30_000 });
  await replay.click();

  await expect(page.getByRole('heading', { name: `Session ${sid}` })).toBeVisible();
  const player = page.getByTestId('player');
  await expect(player.locator('.ap-player')).toBeVisible();
  await page.getByLabel('Speed').selectOption('4');
  await page.getByRole('button', { name: 'Play replay' }).click();
  await expect(player).toContainText(marker, { timeout: 30_000 });
  await expect(player).toContainText('uid=0(root)');
  // Seeking with the keyboard: to the end, then back to the start.
  const position = page.getByLabel('Position');
  await position.focus();
  await page.keyboard.press('End');
  await expect.poll(async () => Number(await position.inputValue())).toBeGreaterThan(1);
  await expect(player).toContainText('logout');
  await shot(page, '06-replay');
  await page.keyboard.press('Home');
  await expect(position).toHaveValue('0');
});

test('an admin creates an enrollment token and gets the exact command', async ({ page }) => {
  await signInAsAdmin(page);
  await page.getByRole('link', { name: 'Hosts' }).click();
  await expect(page.getByRole('heading', { name: 'Hosts' })).toBeVisible();
  await page.getByLabel('Host name').fill('e2e-sensor');
  await page.getByRole('button', { name: 'Create enrollment token' }).click();
  const command = page.getByLabel('Enrollment command');
  await expect(command).toHaveText(/^decnet-agent enroll --token decnet1\.[A-Za-z0-9_-]+$/);
  await expect(page.getByRole('button', { name: 'Copy command' })).toBeVisible();
  await shot(page, '07-hosts');

  // The command works as shown: run it (in a throwaway state directory) with the
  // decnet-agent built next to decnet-master, and the host appears, enrolled.
  const masterBin = process.env.DECNET_MASTER_BIN;
  if (!masterBin) return; // a master started elsewhere: its agent binary is not at hand
  const argv = (await command.textContent())?.trim().split(' ') ?? [];
  expect(argv.slice(0, 3)).toEqual(['decnet-agent', 'enroll', '--token']);
  const stateDir = mkdtempSync(join(tmpdir(), 'decnet-e2e-agent-'));
  try {
    const ran = await runWithInput(join(dirname(masterBin), 'decnet-agent'), [...argv.slice(1), '--state-dir', stateDir]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('enrolled as e2e-sensor');
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
  const sensor = page
    .getByRole('region', { name: 'Hosts' })
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name: 'e2e-sensor' }) });
  await expect(sensor.locator('.badge').nth(1)).toHaveText('enrolled', { timeout: 15_000 });
  await shot(page, '07b-hosts-enrolled');
});

test('users: an admin adds a viewer, who sees no admin action', async ({ page, browser }) => {
  await signInAsAdmin(page);
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'Users', exact: true })).toBeVisible();
  const viewerPassword = 'e2e-viewer-first-pw';
  await page.getByLabel('Username').fill('e2e-viewer');
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByLabel('Initial password').fill(viewerPassword);
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('rowheader', { name: 'e2e-viewer' })).toBeVisible();
  await shot(page, '08-users');

  const context = await browser.newContext();
  const viewer = await context.newPage();
  const viewerConsole = watchConsole(viewer);
  await signIn(viewer, 'e2e-viewer', viewerPassword);
  await viewer.getByLabel('Current password').fill(viewerPassword);
  await viewer.getByLabel('New password', { exact: true }).fill('e2e-viewer-second-pw');
  await viewer.getByLabel('Repeat the new password').fill('e2e-viewer-second-pw');
  await viewer.getByRole('button', { name: 'Change password' }).click();
  await expect(viewer.getByRole('heading', { name: 'Fleet' })).toBeVisible();
  await expect(viewer.getByText('(viewer)')).toBeVisible();
  await expect(viewer.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Deploy' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Tear down' })).toHaveCount(0);
  await shot(viewer, '09-viewer-fleet');
  await viewer.getByRole('link', { name: 'Hosts' }).click();
  await expect(viewer.getByRole('heading', { name: 'Hosts' })).toBeVisible();
  await expect(viewer.getByRole('button', { name: 'Create enrollment token' })).toHaveCount(0);
  await viewer.goto(base() + '/users');
  await expect(viewer.getByText('Only administrators manage users.')).toBeVisible();
  await expect(viewer.getByRole('button', { name: 'Add user' })).toHaveCount(0);
  expect(viewerConsole.errors).toEqual([]);
  await context.close();
});

test('log out returns to the sign-in page and forgets the token', async ({ page }) => {
  await signInAsAdmin(page);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem('decnet.token'))).toBeNull();
  await page.goto(base() + '/events');
  await expect(page).toHaveURL(/\/login$/);
});
