// The hosted pages in headless Chromium, beyond the journey: Swagger UI, keyboard-only use,
// a phone-width screen, where the tokens live (body transport) and the silent refresh.
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserWindow,
  launchBrowser,
  newTestContext,
  screenshot,
  type TestContext,
} from './support/browser.js';
import { login, register, strongPassword, uniqueEmail } from './support/fixtures.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

const FILE = import.meta.filename;
const ADMIN = { email: uniqueEmail('boss'), password: strongPassword() };

let server: TestServer;
/** ACCESS_TOKEN_TTL=6s: the pages must refresh on their own. */
let short: TestServer;
/** EMAIL_VERIFICATION=required. */
let required: TestServer;
let browser: Browser;
const contexts: TestContext[] = [];

beforeAll(async () => {
  [server, short, required, browser] = await Promise.all([
    startServer({ env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } }),
    startServer({ env: { ACCESS_TOKEN_TTL: '6s' } }),
    startServer({ env: { EMAIL_VERIFICATION: 'required' } }),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await cleanup();
});

async function open(
  on: TestServer = server,
  options: Parameters<typeof newTestContext>[2] = {},
): Promise<Page> {
  const context = await newTestContext(browser, on.url, options);
  contexts.push(context);
  return context.newPage();
}

async function signInToAccount(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email or username').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/account');
  await page.locator('#account').waitFor();
}

const storedRefreshToken = (page: Page) =>
  page.evaluate(
    () => (globalThis as unknown as BrowserWindow).sessionStorage['authkit.refresh_token'],
  );
const activeId = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as BrowserWindow).document.activeElement?.id ?? '');
const isRefresh = (request: Request) =>
  request.method() === 'POST' && new URL(request.url()).pathname === '/api/auth/refresh';

describe('Swagger UI at /docs', { timeout: 90_000 }, () => {
  it('loads, authorizes with a bearer token and executes GET /api/auth/me', async () => {
    const { email, password } = await register(server.api);
    const { accessToken } = await login(server.api, email, password);
    const page = await open();
    const sent: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/auth/me') {
        sent.push(request.headers().authorization);
      }
    });
    await page.goto('/docs');
    await page.locator('.swagger-ui .info .title').waitFor();
    await page.getByRole('button', { name: 'Authorize' }).first().click();
    const dialog = page.locator('.modal-ux');
    const bearer = dialog.locator('.auth-container').filter({ hasText: '(http, Bearer)' });
    await bearer.locator('input').fill(accessToken);
    await bearer.getByRole('button', { name: 'Apply credentials' }).click();
    await dialog.getByRole('button', { name: 'Close', exact: true }).first().click();

    const operation = page.locator('#operations-auth-getMe');
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.getByRole('button', { name: 'Execute' }).click();
    const response = operation.locator('.live-responses-table tbody').first();
    await response.waitFor();
    expect((await response.locator('.response-col_status').first().innerText()).trim()).toBe('200');
    expect(await response.locator('.response-col_description').first().innerText()).toContain(
      `"email": "${email}"`,
    );
    expect(sent).toEqual([`Bearer ${accessToken}`]);
    await response.scrollIntoViewIfNeeded();
    await screenshot(page, FILE, 'swagger-me', { fullPage: false });
  });
});

describe('keyboard only', { timeout: 90_000 }, () => {
  it('signs in with Tab and Enter, skips to the content and signs out', async () => {
    const { email, password } = await register(server.api);
    const page = await open();
    await page.goto('/login');
    // The first field has the focus; Enter on an empty form says what is missing, there.
    expect(await activeId(page)).toBe('login-identifier');
    await page.keyboard.press('Enter');
    await page.locator('#login-identifier.is-invalid').waitFor();
    expect(await page.locator('#login-identifier-error').textContent()).toBe(
      'Email or username is required.',
    );
    expect(await activeId(page)).toBe('login-identifier');

    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    expect(await activeId(page)).toBe('login-password');
    await page.keyboard.type(password);
    await screenshot(page, FILE, 'keyboard-login');
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === '/account');
    await page.locator('#account').waitFor();

    // First stop: a "Skip to content" link that shows itself when focused.
    await page.keyboard.press('Tab');
    const skip = page.locator(':focus');
    expect(await skip.textContent()).toBe('Skip to content');
    expect(await skip.isVisible()).toBe(true);
    await page.keyboard.press('Enter');
    expect(new URL(page.url()).hash).toBe('#main');

    // From the top, Tab walks the navigation in reading order; Enter on "Log out" works.
    await page.goto('/account');
    await page.locator('#account').waitFor();
    const order: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      await page.keyboard.press('Tab');
      order.push(((await page.locator(':focus').textContent()) ?? '').trim());
    }
    expect(order).toEqual(['Skip to content', 'authkit', 'Account', 'Log out']);
    expect(await activeId(page)).toBe('nav-logout');
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === '/login');
    expect(await page.locator('#login-notice').textContent()).toContain('signed out');
  });
});

describe('EMAIL_VERIFICATION=required', { timeout: 90_000 }, () => {
  it('explains an unconfirmed address at sign-in and sends a new link from there', async () => {
    const { email, password } = await register(required.api);
    const page = await open(required);
    await page.goto('/login');
    await page.getByLabel('Email or username').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.locator('#login-alert .alert-warning');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('The email address has not been verified yet.');
    await alert.getByRole('button', { name: 'Send a new confirmation link' }).click();
    await page.locator('#login-alert .alert-success').waitFor();
    expect(await page.locator('#login-alert').textContent()).toMatch(/sent it a new link/);
    expect(new URL(page.url()).pathname).toBe('/login');
  });
});

describe('at phone width (375 px)', { timeout: 90_000 }, () => {
  it('shows every page without sideways scrolling', async () => {
    const page = await open(server, {
      viewport: { width: 375, height: 812 },
      isMobile: true,
      hasTouch: true,
    });
    const fits = () =>
      page.evaluate(
        () => (globalThis as unknown as BrowserWindow).document.documentElement.scrollWidth,
      );
    for (const path of ['/login', '/register', '/forgot-password']) {
      await page.goto(path);
      expect(await fits(), path).toBeLessThanOrEqual(375);
    }
    await screenshot(page, FILE, 'phone-login');
    await signInToAccount(page, ADMIN.email, ADMIN.password);
    expect(await fits()).toBeLessThanOrEqual(375);
    await screenshot(page, FILE, 'phone-account');
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    await page.locator('#users-body tr').first().waitFor();
    expect(await fits()).toBeLessThanOrEqual(375);
    await screenshot(page, FILE, 'phone-admin');
  });
});

describe('tokens in body transport', { timeout: 90_000 }, () => {
  it('keeps the access token in memory only and the refresh token in sessionStorage', async () => {
    const { email, password } = await register(server.api);
    const page = await open();
    const bearers = new Set<string>();
    page.on('request', (request) => {
      const authorization = request.headers().authorization;
      if (authorization) bearers.add(authorization.replace(/^Bearer /, ''));
    });
    await signInToAccount(page, email, password);
    expect(bearers.size).toBeGreaterThan(0);
    const stored = await page.evaluate(() => {
      const w = globalThis as unknown as BrowserWindow;
      return {
        session: Object.entries(w.sessionStorage),
        local: Object.entries(w.localStorage),
        cookies: w.document.cookie,
      };
    });
    expect(stored.local).toEqual([]);
    expect(stored.cookies).toBe('');
    expect(stored.session.map(([key]) => key)).toEqual(['authkit.refresh_token']);
    for (const token of bearers) expect(JSON.stringify(stored)).not.toContain(token);
    // The stored refresh token is the live one: the API accepts it (and rotates it).
    const refreshed = await server.api.post('/api/auth/refresh', {
      refresh_token: stored.session[0][1],
    });
    expect(refreshed.status).toBe(200);
  });

  it('refreshes shortly before the access token expires, without any click', async () => {
    const { email, password } = await register(short.api);
    const page = await open(short);
    const refreshes: number[] = [];
    page.on('request', (request) => {
      if (isRefresh(request)) refreshes.push(Date.now());
    });
    await signInToAccount(page, email, password);
    const afterLoad = refreshes.length; // the page's own refresh on load
    expect(afterLoad).toBeGreaterThan(0);
    await expect.poll(() => refreshes.length, { timeout: 30_000 }).toBeGreaterThan(afterLoad);
    // Past the first token's lifetime the page still works, with no trip to /login.
    await expect.poll(() => refreshes.length, { timeout: 30_000 }).toBeGreaterThan(afterLoad + 1);
    await page.getByRole('button', { name: 'Refresh list' }).click();
    await page.locator('#sessions-reload:not([aria-busy])').waitFor();
    expect(await page.locator('#sessions-list > li').count()).toBe(1);
    expect(new URL(page.url()).pathname).toBe('/account');
  });

  it('keeps tabs that share a refresh token in step, so a rotation never looks like theft', async () => {
    const { email, password } = await register(server.api);
    const page = await open();
    await signInToAccount(page, email, password);
    const before = await storedRefreshToken(page);
    // A tab opened by script starts with a copy of this tab's sessionStorage, like a
    // duplicated tab; loading /account there rotates the shared token.
    const opened = page.context().waitForEvent('page');
    await page.evaluate(() => (globalThis as unknown as BrowserWindow).open('/account'));
    const other = await opened;
    await other.locator('#account').waitFor();
    const rotated = await storedRefreshToken(other);
    expect(rotated).toBeTruthy();
    expect(rotated).not.toBe(before);
    await expect.poll(() => storedRefreshToken(page)).toBe(rotated);
    await page.reload();
    await page.locator('#account').waitFor();
    await other.reload();
    await other.locator('#account').waitFor();
    expect(await page.locator('#sessions-list > li').count()).toBe(1);
  });

  it('answers a 401 with one refresh and a retry of the call', async () => {
    const { email, password } = await register(server.api);
    const page = await open();
    await signInToAccount(page, email, password);
    let refused = 0;
    await page.route('**/api/auth/sessions', async (route) => {
      // The next call is refused once, as if the access token had just expired.
      if (refused++ > 0) return route.continue();
      await route.fulfill({
        status: 401,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          detail: 'A valid access token is required.',
          code: 'UNAUTHORIZED',
        }),
      });
    });
    const refresh = page.waitForRequest(isRefresh);
    await page.getByRole('button', { name: 'Refresh list' }).click();
    await refresh;
    await page.locator('#sessions-reload:not([aria-busy])').waitFor();
    expect(refused).toBe(2);
    expect(await page.locator('#sessions-list > li').count()).toBe(1);
    expect(await page.locator('#sessions-alert').textContent()).toBe('');
  });
});

it('broke no Content-Security-Policy rule and threw no script error on any page', () => {
  expect(contexts.length).toBeGreaterThan(3);
  for (const { problems } of contexts) {
    expect(problems.csp).toEqual([]);
    expect(problems.errors).toEqual([]);
  }
});
