// Accessibility of every hosted page (issue 16 point 10): axe-core's WCAG 2.0/2.1 A and AA
// rules, run in headless Chromium at desktop width and at phone width (375x740), on each
// page in the states people see: the public forms (and their error and no-token states),
// /account signed in (without and with two-step sign-in, and while enrolling), /admin
// signed in as an admin with a mix of users listed (and while it asks the admin to confirm
// who they are), and /login's second step after the password of a user with TOTP. Any
// violation fails the test with its rule id, impact, target and axe's summary.
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from './support/axe.js';
import { launchBrowser, newTestContext, screenshot, type TestContext } from './support/browser.js';
import {
  type LoggedInUser,
  login,
  register,
  registerAndLogin,
  strongPassword,
  uniqueEmail,
} from './support/fixtures.js';
import { describeResponse } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { Authenticator } from './support/totp.js';

const FILE = import.meta.filename;
const ADMIN = { email: uniqueEmail('a11y-admin'), password: strongPassword() };

/**
 * axe measures colours as they are at that moment: with reduced motion Bootstrap has no
 * transitions, so a button just clicked (still hovered, or tapped) is measured in its final
 * colours rather than halfway through fading into them.
 */
const VIEWPORTS: { name: string; options: BrowserContextOptions }[] = [
  { name: 'desktop', options: { viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' } },
  {
    name: 'phone',
    options: {
      viewport: { width: 375, height: 740 },
      isMobile: true,
      hasTouch: true,
      reducedMotion: 'reduce',
    },
  },
];

interface TotpUser extends LoggedInUser {
  auth: Authenticator;
}

let server: TestServer;
let browser: Browser;
let adminId: string;
/** Listed on /admin with two-step sign-in on: its row has "Yes" and a reset button. */
let listedWithTotp: TotpUser;
const contexts: TestContext[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServer({ env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } }),
    launchBrowser(),
  ]);
  const admin = await login(server.api, ADMIN.email, ADMIN.password);
  adminId = admin.user.id;
  // A few users of every kind for /admin: unconfirmed, confirmed, inactive, with a factor.
  const [, confirmed, inactive] = await Promise.all([
    register(server.api, { firstName: 'Grace', lastName: 'Hopper' }),
    register(server.api, { username: `a11y_${Date.now().toString(36)}` }),
    register(server.api, { firstName: 'Alan' }),
  ]);
  for (const [user, change] of [
    [confirmed, { emailVerified: true }],
    [inactive, { active: false }],
  ] as const) {
    const res = await server.api.patch(`/api/users/${user.user.id}`, change, {
      token: admin.accessToken,
    });
    expect(res.status, describeResponse(res)).toBe(200);
  }
  listedWithTotp = await totpUser();
});
afterAll(async () => {
  await browser?.close();
  await cleanup();
});

/** A new user with a confirmed TOTP factor (enrolled through the API). */
async function totpUser(): Promise<TotpUser> {
  const u = await registerAndLogin(server.api, { firstName: 'Totp' });
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
  return { ...u, auth };
}

async function open(options: BrowserContextOptions): Promise<Page> {
  const context = await newTestContext(browser, server.url, options);
  contexts.push(context);
  return context.newPage();
}

async function signIn(page: Page, identifier: string, password: string): Promise<void> {
  if (new URL(page.url()).pathname !== '/login') await page.goto('/login');
  await page.getByLabel('Email or username').fill(identifier);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

describe.each(VIEWPORTS)('axe, WCAG 2.0/2.1 A and AA, at $name width', ({ name, options }) => {
  let page: Page;
  beforeAll(async () => {
    page = await open(options);
  });

  it('/login, and its field errors and refused password', async () => {
    await page.goto('/login');
    await page.locator('#login-form').waitFor();
    await expectAccessible(page, '/login');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('#login-identifier.is-invalid').waitFor();
    await expectAccessible(page, '/login with field errors');
    await signIn(page, uniqueEmail('nobody'), strongPassword());
    await page.locator('#login-alert .alert-danger').waitFor();
    await expectAccessible(page, '/login after a refused password');
  });

  it('/register, and its field errors', async () => {
    await page.goto('/register');
    await page.getByRole('button', { name: 'Create account' }).waitFor();
    await expectAccessible(page, '/register');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#register-email.is-invalid').waitFor();
    await expectAccessible(page, '/register with field errors');
  });

  it('/forgot-password', async () => {
    await page.goto('/forgot-password');
    await page.getByRole('button', { name: 'Send reset email' }).waitFor();
    await expectAccessible(page, '/forgot-password');
  });

  it('/reset-password, with and without a token', async () => {
    await page.goto('/reset-password?token=not-a-real-token');
    await page.locator('#reset-form').waitFor();
    await expectAccessible(page, '/reset-password with a token');
    await page.goto('/reset-password');
    await page.locator('#reset-missing').waitFor();
    await expectAccessible(page, '/reset-password without a token');
  });

  it('/verify-email, with and without a token', async () => {
    await page.goto('/verify-email?token=not-a-real-token');
    await page.locator('#verify-form').waitFor();
    await expectAccessible(page, '/verify-email with a token');
    await page.goto('/verify-email');
    await page.locator('#resend-form').waitFor();
    await expectAccessible(page, '/verify-email without a token');
  });

  it("/login's second step for a user with TOTP, then /account with two-step sign-in on", async () => {
    const user = await totpUser();
    const p = await open(options);
    await signIn(p, user.email, user.password);
    await p.locator('#mfa-form').waitFor();
    await expectAccessible(p, "/login's second step");
    await screenshot(p, FILE, `${name}-login-second-step`);
    await p.getByRole('button', { name: 'Use a recovery code' }).click();
    await p.locator('#mfa-recovery-group').waitFor();
    await expectAccessible(p, "/login's second step with a recovery code");
    await p.getByRole('button', { name: 'Use my authenticator app' }).click();
    await p.getByLabel('Authentication code').fill(await user.auth.fresh());
    await p.getByRole('button', { name: 'Verify', exact: true }).click();
    await p.waitForURL((url) => url.pathname === '/account');
    await p.locator('#account').waitFor();
    await p.locator('#totp-manage-form').waitFor();
    await expectAccessible(p, '/account with two-step sign-in on');
  });

  it('/account signed in, and while enrolling an authenticator app', async () => {
    const user = await register(server.api, { firstName: 'Ada', lastName: 'Lovelace' });
    const p = await open(options);
    await p.goto('/account');
    await p.waitForURL((url) => url.pathname === '/login');
    await signIn(p, user.email, user.password);
    await p.waitForURL((url) => url.pathname === '/account');
    await p.locator('#account').waitFor();
    await expectAccessible(p, '/account');
    await screenshot(p, FILE, `${name}-account`);
    await p.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await p.locator('#totp-password').fill(user.password);
    await p.locator('#totp-start-form').getByRole('button', { name: 'Continue' }).click();
    await p.locator('#totp-confirm-form').waitFor();
    await expectAccessible(p, '/account enrolling an authenticator app');
  });

  it('/admin signed in as an admin with users listed, and asking to confirm it is you', async () => {
    const p = await open(options);
    await p.goto('/admin');
    await p.waitForURL((url) => url.pathname === '/login');
    await signIn(p, ADMIN.email, ADMIN.password);
    await p.waitForURL((url) => url.pathname === '/admin');
    await p.locator('#admin').waitFor();
    await expect.poll(() => p.locator('#users-body tr').count()).toBeGreaterThanOrEqual(5);
    await expectAccessible(p, '/admin');
    await screenshot(p, FILE, `${name}-admin`);

    // The admin's sessions signed in long ago: a write asks for the password first.
    await server.db.query(
      `UPDATE sessions SET authenticated_at = now() - interval '1 day' WHERE user_id = $1`,
      [adminId],
    );
    await p
      .getByRole('button', { name: `Reset two-step sign-in: ${listedWithTotp.email}` })
      .click();
    await p.locator('#reauth-form').waitFor();
    await expectAccessible(p, '/admin asking to confirm it is you');
    await screenshot(p, FILE, `${name}-admin-reauth`);
    await p.locator('#reauth-form').getByRole('button', { name: 'Cancel' }).click();
    await p.locator('#list-alert .alert-info').waitFor();
    await expectAccessible(p, '/admin after a cancelled write');
  });
});

it('broke no Content-Security-Policy rule and threw no script error on any page', () => {
  expect(contexts.length).toBeGreaterThan(4);
  for (const { problems } of contexts) {
    expect(problems.csp).toEqual([]);
    expect(problems.errors).toEqual([]);
  }
});
