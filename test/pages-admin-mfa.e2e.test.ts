// /admin shows and resets two-step sign-in (issue 16 point 7/10), in headless Chromium:
// users enrol TOTP through the API, the admin sees "Yes" in the "2-step" column, filters on
// it, and resets it for one user by keyboard, confirming their own password in the inline
// "Confirm it is you" form once the session's sign-in is older than REAUTH_MAX_AGE (after a
// Cancel and a wrong password first); then a second reset needs no password, and at phone
// width a reset by touch. Each reset user's password login then answers tokens.
import type { Browser, BrowserContextOptions, Locator, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserWindow,
  launchBrowser,
  newTestContext,
  screenshot,
  type TestContext,
} from './support/browser.js';
import {
  type LoggedInUser,
  login,
  register,
  registerAndLogin,
  strongPassword,
  uniqueEmail,
  uniqueUsername,
} from './support/fixtures.js';
import { type ApiResponse, describeResponse } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { Authenticator } from './support/totp.js';

const FILE = import.meta.filename;
const ADMIN = { email: uniqueEmail('mfa-boss'), password: strongPassword() };
/** The last name every user of this file has: the admin's search finds only them. */
const TAG = uniqueUsername('mfatag').replace(/[^a-z0-9]/g, '');

let server: TestServer;
let browser: Browser;
let adminId: string;
const contexts: TestContext[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServer({ env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } }),
    launchBrowser(),
  ]);
  adminId = (await login(server.api, ADMIN.email, ADMIN.password)).user.id;
});
afterAll(async () => {
  await browser?.close();
  await cleanup();
});

const loginRequest = (u: { email: string; password: string }) =>
  server.api.post('/api/auth/login', { email: u.email, password: u.password });

/** A new user who turned on TOTP through the API; their password alone no longer signs in. */
async function totpUser(): Promise<LoggedInUser> {
  const u = await registerAndLogin(server.api, { firstName: 'Totp', lastName: TAG });
  const started = await server.api.post(
    '/api/auth/mfa/totp',
    { password: u.password },
    { token: u.accessToken },
  );
  expect(started.status, describeResponse(started)).toBe(200);
  const auth = new Authenticator(started.body.secret);
  const confirmed = await server.api.post(
    '/api/auth/mfa/totp/confirm',
    { code: await auth.fresh() },
    { token: u.accessToken },
  );
  expect(confirmed.status, describeResponse(confirmed)).toBe(200);
  const step = await loginRequest(u);
  expect(step.status, describeResponse(step)).toBe(200);
  expect(step.body.mfa_required, describeResponse(step)).toBe(true);
  return u;
}

/** The password login answers tokens and no second step; the sessions before the reset ended. */
async function expectPasswordAloneSignsIn(u: LoggedInUser): Promise<void> {
  const res: ApiResponse = await loginRequest(u);
  expect(res.status, describeResponse(res)).toBe(200);
  expect(res.body.mfa_required, describeResponse(res)).toBeUndefined();
  expect(res.body.access_token).toBeTypeOf('string');
  expect(res.body.user.mfaEnabled).toBe(false);
  const old = await server.api.post('/api/auth/refresh', { refresh_token: u.refreshToken });
  expect(old.status, describeResponse(old)).toBe(401);
}

async function openAdmin(options: BrowserContextOptions = {}): Promise<Page> {
  const context = await newTestContext(browser, server.url, options);
  contexts.push(context);
  const page = await context.newPage();
  await page.goto('/admin');
  await page.waitForURL((url) => url.pathname === '/login');
  await page.getByLabel('Email or username').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/admin');
  await page.locator('#admin').waitFor();
  return page;
}

/** Submits a search and waits for its answer (the form is busy until the table is drawn). */
async function search(page: Page, term: string): Promise<void> {
  await page.getByLabel('Search', { exact: true }).fill(term);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator('#filter-form:not([aria-busy])').waitFor();
}

const row = (page: Page, email: string) => page.locator(`#users-body tr[data-email="${email}"]`);
/** The "2-step" cell of the user's row. */
const twoStep = (page: Page, email: string) => row(page, email).locator('td[data-label="2-step"]');
const resetButton = (page: Page, email: string): Locator =>
  row(page, email).getByRole('button', {
    name: `Reset two-step sign-in: ${email}`,
    exact: true,
  });
const activeId = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as BrowserWindow).document.activeElement?.id ?? '');
const isReauthenticate = (request: Request) =>
  request.method() === 'POST' && new URL(request.url()).pathname === '/api/auth/reauthenticate';

describe('/admin and two-step sign-in', { timeout: 120_000 }, () => {
  let first: LoggedInUser;
  let second: LoggedInUser;
  let plain: { email: string };
  let admin: Page;

  beforeAll(async () => {
    [first, second, plain] = await Promise.all([
      totpUser(),
      totpUser(),
      register(server.api, { firstName: 'Plain', lastName: TAG }),
    ]);
  });

  it('shows "2-step" Yes or No per user, the reset button only with a factor, and filters on it', async () => {
    admin = await openAdmin();
    expect(await admin.locator('thead th', { hasText: '2-step' }).count()).toBe(1);
    await search(admin, TAG);
    await expect.poll(() => admin.locator('#users-body tr').count()).toBe(3);
    expect(await twoStep(admin, first.email).textContent()).toBe('Yes');
    expect(await twoStep(admin, second.email).textContent()).toBe('Yes');
    expect(await twoStep(admin, plain.email).textContent()).toBe('No');
    expect(await resetButton(admin, first.email).isVisible()).toBe(true);
    expect(
      await row(admin, plain.email)
        .getByRole('button', { name: /two-step/i })
        .count(),
    ).toBe(0);
    // Per-row buttons named after their user, and no id twice on the page.
    const ids = await admin.evaluate(() =>
      [
        ...(
          globalThis as unknown as { document: { querySelectorAll(s: string): { id: string }[] } }
        ).document.querySelectorAll('[id]'),
      ].map((element) => element.id),
    );
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);

    await admin.getByLabel('Two-step sign-in', { exact: true }).selectOption('true');
    await expect.poll(() => admin.locator('#users-body tr').count()).toBe(2);
    expect(await row(admin, plain.email).count()).toBe(0);
    expect(new URL(admin.url()).searchParams.get('mfaEnabled')).toBe('true');
    await admin.getByLabel('Two-step sign-in', { exact: true }).selectOption('false');
    await expect.poll(() => row(admin, plain.email).count()).toBe(1);
    expect(await admin.locator('#users-body tr').count()).toBe(1);
    await admin.getByLabel('Two-step sign-in', { exact: true }).selectOption('');
    await expect.poll(() => admin.locator('#users-body tr').count()).toBe(3);
    await screenshot(admin, FILE, '01-admin-two-step-column');
  });

  it('asks a stale session for the password (Cancel changes nothing, a wrong one is refused), then resets by keyboard', async () => {
    const reauthentications: string[] = [];
    admin.on('request', (request) => {
      if (isReauthenticate(request)) reauthentications.push(request.url());
    });
    // The admin signed in longer ago than REAUTH_MAX_AGE (10m) as far as the server knows.
    await server.db.query(
      `UPDATE sessions SET authenticated_at = now() - interval '1 hour' WHERE user_id = $1`,
      [adminId],
    );

    await resetButton(admin, first.email).focus();
    await admin.keyboard.press('Enter');
    const form = admin.locator('#reauth-form');
    await form.waitFor();
    expect(await activeId(admin)).toBe('reauth-password');
    await screenshot(admin, FILE, '02-admin-confirm-it-is-you');
    await admin.keyboard.press('Escape');
    expect(await admin.locator('#list-alert .alert-info').textContent()).toBe(
      'Cancelled: nothing was changed.',
    );
    expect(await form.isHidden()).toBe(true);
    expect(await twoStep(admin, first.email).textContent()).toBe('Yes');
    expect((await loginRequest(first)).body.mfa_required).toBe(true);

    await resetButton(admin, first.email).focus();
    await admin.keyboard.press('Enter');
    await form.waitFor();
    await admin.keyboard.type(strongPassword());
    await admin.keyboard.press('Enter');
    await admin.locator('#reauth-password.is-invalid').waitFor();
    expect(await admin.locator('#reauth-password-error').textContent()).toBe(
      'The current password is wrong.',
    );
    expect(await activeId(admin)).toBe('reauth-password');

    await admin.keyboard.press('ControlOrMeta+a');
    await admin.keyboard.type(ADMIN.password);
    await admin.keyboard.press('Enter');
    await expect.poll(() => twoStep(admin, first.email).textContent()).toBe('No');
    expect(await admin.locator('#list-alert .alert-success').textContent()).toContain(
      `Two-step sign-in is reset for ${first.email}`,
    );
    expect(await form.isHidden()).toBe(true);
    expect(await resetButton(admin, first.email).count()).toBe(0);
    // The focus is back on the user's row, on its first action.
    expect(
      await row(admin, first.email)
        .locator('.admin-actions button')
        .first()
        .evaluate(
          (button) => (globalThis as unknown as BrowserWindow).document.activeElement === button,
        ),
    ).toBe(true);
    await screenshot(admin, FILE, '03-admin-reset-done');
    await expectPasswordAloneSignsIn(first);

    // Confirmed once: the next write of this session goes through without asking again.
    await resetButton(admin, second.email).click();
    await expect.poll(() => twoStep(admin, second.email).textContent()).toBe('No');
    expect(await form.isHidden()).toBe(true);
    expect(reauthentications).toHaveLength(2); // the wrong password, then the right one
    await expectPasswordAloneSignsIn(second);
  });

  it('resets by touch at phone width, without sideways scrolling', async () => {
    const third = await totpUser();
    const phone = await openAdmin({
      viewport: { width: 375, height: 740 },
      isMobile: true,
      hasTouch: true,
    });
    await search(phone, third.email);
    expect(await twoStep(phone, third.email).textContent()).toBe('Yes');
    const fits = () =>
      phone.evaluate(
        () => (globalThis as unknown as BrowserWindow).document.documentElement.scrollWidth,
      );
    expect(await fits()).toBeLessThanOrEqual(375);
    await screenshot(phone, FILE, '04-phone-before-reset');
    await resetButton(phone, third.email).tap();
    await expect.poll(() => twoStep(phone, third.email).textContent()).toBe('No');
    expect(await phone.locator('#list-alert .alert-success').textContent()).toContain(third.email);
    expect(await fits()).toBeLessThanOrEqual(375);
    await screenshot(phone, FILE, '05-phone-after-reset');
    await expectPasswordAloneSignsIn(third);
  });
});

it('broke no Content-Security-Policy rule and threw no script error on any page', () => {
  expect(contexts.length).toBeGreaterThanOrEqual(2);
  for (const { problems } of contexts) {
    expect(problems.csp).toEqual([]);
    expect(problems.errors).toEqual([]);
  }
});
