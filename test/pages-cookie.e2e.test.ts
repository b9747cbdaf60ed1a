// The hosted pages with REFRESH_TOKEN_TRANSPORT=cookie, in headless Chromium: the refresh
// token never reaches the page's storage, refresh and logout go by the HttpOnly cookie with
// the X-XSRF-TOKEN header, and a reload keeps the person signed in.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserWindow,
  launchBrowser,
  newTestContext,
  screenshot,
  type TestContext,
} from './support/browser.js';
import { register } from './support/fixtures.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

const FILE = import.meta.filename;

let server: TestServer;
let browser: Browser;
let context: TestContext;
/** Whether the login answer left the refresh token out of the body (cookie transport). */
let cookieTransport = false;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServer({ env: { REFRESH_TOKEN_TRANSPORT: 'cookie', COOKIE_SECURE: 'false' } }),
    launchBrowser(),
  ]);
  context = await newTestContext(browser, server.url);
  const { email, password } = await register(server.api);
  const res = await server.api.post('/api/auth/login', { email, password });
  cookieTransport = res.status === 200 && !('refresh_token' in res.body);
});
afterAll(async () => {
  await browser?.close();
  await cleanup();
});

async function signInToAccount(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email or username').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/account');
  await page.locator('#account').waitFor();
}

describe('cookie transport', { timeout: 90_000 }, () => {
  it('signs in, survives a reload and signs out with the HttpOnly cookie and the XSRF header', async () => {
    expect(cookieTransport, 'the login answer carries no refresh_token in cookie mode').toBe(true);
    const { email, password } = await register(server.api);
    const page = await context.newPage();
    const refreshes: { status: number; xsrf: string | undefined; body: string | null }[] = [];
    page.on('response', (response) => {
      const request = response.request();
      if (new URL(request.url()).pathname === '/api/auth/refresh') {
        refreshes.push({
          status: response.status(),
          xsrf: request.headers()['x-xsrf-token'],
          body: request.postData(),
        });
      }
    });
    await signInToAccount(page, email, password);

    const cookies = await context.context.cookies();
    const refreshCookie = cookies.find((c) => c.name === 'refresh_token');
    const xsrfCookie = cookies.find((c) => c.name === 'XSRF-TOKEN');
    expect(refreshCookie?.httpOnly).toBe(true);
    expect(xsrfCookie?.httpOnly).toBe(false);
    const stored = await page.evaluate(() => {
      const w = globalThis as unknown as BrowserWindow;
      return { session: Object.keys(w.sessionStorage), local: Object.keys(w.localStorage) };
    });
    expect(stored).toEqual({ session: [], local: [] });
    // The page's refresh on load went by cookie, echoing the XSRF cookie (which rotates
    // with the refresh token, so the one now in the jar is newer).
    expect(refreshes.length).toBeGreaterThan(0);
    expect(refreshes[0]).toMatchObject({ status: 200, xsrf: expect.any(String) });
    expect(refreshes[0].body).not.toContain('refresh_token');

    await page.reload();
    await page.locator('#account').waitFor();
    expect(refreshes.map((r) => r.status)).toEqual([200, 200]);
    expect(await page.locator('#sessions-list > li').count()).toBe(1);
    await screenshot(page, FILE, 'account');

    await page.getByRole('button', { name: 'Log out here' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    expect((await context.context.cookies()).filter((c) => c.name === 'refresh_token')).toEqual([]);
    await page.goto('/account');
    await page.waitForURL((url) => url.pathname === '/login');
  });
});

it('broke no Content-Security-Policy rule and threw no script error', () => {
  expect(context.problems.csp).toEqual([]);
  expect(context.problems.errors).toEqual([]);
});
