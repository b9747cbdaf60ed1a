// A person's whole journey through the hosted pages in headless Chromium, with every email
// taken from the real SMTP sink: register, verify by the link, sign in, edit the profile,
// change the password, two sessions and a revoke, recovery by link and by code; then an
// admin deactivates them (their open page signs out) and a non-admin is refused /admin.
// The tests of this file are one story and run in order.
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newTestContext, screenshot, type TestContext } from './support/browser.js';
import {
  login,
  register,
  strongPassword,
  uniqueEmail,
  uniqueUsername,
} from './support/fixtures.js';
import { codeIn, linkIn, SUBJECT, waitForNth } from './support/mail.js';
import { cleanup, freePort, startServer, type TestServer } from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

const FILE = import.meta.filename;
const ADMIN = { email: uniqueEmail('boss'), password: strongPassword() };
const FIREFOX_ON_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

let smtp: SmtpSink;
let server: TestServer;
let browser: Browser;
const contexts: TestContext[] = [];

/** The person of the story; `password` follows every change. */
const person = {
  email: uniqueEmail('ada'),
  username: uniqueUsername('ada'),
  password: strongPassword(),
};
/** Their first browser, and its page. */
let first: TestContext;
let page: Page;

beforeAll(async () => {
  smtp = await startSmtpSink();
  const port = await freePort();
  // APP_URL unset: it defaults to PUBLIC_URL, where the pages are, so the links just work.
  [server, browser] = await Promise.all([
    startServer({
      port,
      env: {
        SMTP_URL: smtp.url,
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      },
    }),
    launchBrowser(),
  ]);
  first = await open();
  page = await first.newPage();
});
afterAll(async () => {
  await browser?.close();
  await cleanup();
  await smtp.stop();
});

async function open(options: Parameters<typeof newTestContext>[2] = {}): Promise<TestContext> {
  const context = await newTestContext(browser, server.url, options);
  contexts.push(context);
  return context;
}

/** Waits until the field is marked invalid and answers the message shown under it. */
async function fieldError(p: Page, id: string): Promise<string> {
  await p.locator(`#${id}.is-invalid`).waitFor();
  const feedback = p.locator(`#${id}-error`);
  await feedback.waitFor();
  expect(await p.locator(`#${id}`).getAttribute('aria-describedby')).toContain(`${id}-error`);
  return (await feedback.textContent()) ?? '';
}

async function textOf(locator: Locator): Promise<string> {
  await locator.waitFor();
  return (await locator.textContent()) ?? '';
}

async function signIn(p: Page, identifier: string, password: string): Promise<void> {
  if (new URL(p.url()).pathname !== '/login') await p.goto('/login');
  await p.getByLabel('Email or username').fill(identifier);
  await p.getByLabel('Password', { exact: true }).fill(password);
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signInToAccount(p: Page, identifier: string, password: string): Promise<void> {
  await signIn(p, identifier, password);
  await p.waitForURL((url) => url.pathname === '/account');
  await p.locator('#account').waitFor();
}

const sessionItems = (p: Page) => p.locator('#sessions-list > li');

describe('a person on the hosted pages', { timeout: 120_000 }, () => {
  it('registers, with API errors shown next to the right fields', async () => {
    await page.goto('/register');
    expect(await page.title()).toBe('Create an account · authkit');
    // Problems the browser catches: nothing is sent.
    await page.getByRole('button', { name: 'Create account' }).click();
    expect(await fieldError(page, 'register-email')).toBe('Email is required.');
    // A per-field error from the API (400 VALIDATION_FAILED, errors[]).
    await page.getByLabel('Email').fill(person.email);
    await page.getByLabel('Username').fill('A!');
    await page.getByLabel('Password', { exact: true }).fill(person.password);
    await page.getByLabel('Repeat the password').fill(person.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    expect(await fieldError(page, 'register-username')).toMatch(/username must be 3 to 32/);
    expect(await page.locator('#register-email').getAttribute('class')).not.toContain('is-invalid');
    // A conflict (409 EMAIL_TAKEN) belongs to the email field.
    await page.getByLabel('Username').fill(person.username);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByRole('button', { name: 'Create account' }).click();
    expect(await fieldError(page, 'register-email')).toMatch(/already registered/);
    await screenshot(page, FILE, '01-register-errors');

    await page.getByLabel('Email').fill(person.email);
    await page.getByRole('button', { name: 'Create account' }).click();
    expect(await textOf(page.locator('#register-done'))).toContain(person.email);
    await screenshot(page, FILE, '02-registered');
  });

  it('confirms the email by the link of the email, with a button press', async () => {
    const mail = await waitForNth(smtp, person.email, SUBJECT.verify);
    const { link } = linkIn(mail, 'verify-email');
    expect(link.startsWith(`${server.url}/verify-email?token=`)).toBe(true);
    await page.goto(link);
    await screenshot(page, FILE, '03-verify-email');
    await page.getByRole('button', { name: 'Confirm my email address' }).click();
    expect(await textOf(page.locator('#verify-done'))).toContain(`${person.email} is confirmed`);
  });

  it('signs in with the username and edits the profile', async () => {
    await page.getByRole('link', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    await signIn(page, 'nobody-' + person.username, person.password);
    expect(await textOf(page.locator('#login-alert .alert-danger'))).toBe('Invalid credentials.');
    await signInToAccount(page, person.username, person.password);
    expect(await textOf(page.locator('#nav-user'))).toBe(person.email);
    expect(await page.locator('#nav-admin').isHidden()).toBe(true);
    expect(await textOf(page.locator('#profile-email-status'))).toContain('Confirmed');
    await screenshot(page, FILE, '04-account');

    await page.getByLabel('Username').fill('x');
    await page.getByRole('button', { name: 'Save profile' }).click();
    expect(await fieldError(page, 'profile-username')).toMatch(/username must be 3 to 32/);
    await page.getByLabel('Username').fill(person.username);
    await page.getByLabel('First name').fill('Ada');
    await page.getByLabel('Last name').fill('Lovelace');
    await page.getByRole('button', { name: 'Save profile' }).click();
    expect(await textOf(page.locator('#profile-alert .alert-success'))).toBe('Profile saved.');

    // A reload starts with no access token (memory only) and refreshes: still signed in.
    await page.reload();
    await page.locator('#account').waitFor();
    expect(await page.getByLabel('Last name').inputValue()).toBe('Lovelace');
  });

  it('changes the password, with each refusal at its field', async () => {
    const next = strongPassword();
    const form = page.locator('#password-form');
    await form.getByLabel('Current password').fill('not-my-password-1');
    await form.getByLabel('New password', { exact: true }).fill(next);
    await form.getByLabel('Repeat the new password').fill(next);
    await form.getByRole('button', { name: 'Change password' }).click();
    expect(await fieldError(page, 'password-current')).toMatch(/wrong/);

    await form.getByLabel('Current password').fill(person.password);
    await form.getByLabel('Repeat the new password').fill(next + 'x');
    await form.getByRole('button', { name: 'Change password' }).click();
    expect(await fieldError(page, 'password-confirm')).toBe('The two passwords are not the same.');

    await form.getByLabel('Repeat the new password').fill(next);
    await form.getByRole('button', { name: 'Change password' }).click();
    expect(await textOf(page.locator('#password-alert .alert-success'))).toMatch(
      /Password changed/,
    );
    person.password = next;
    await login(server.api, person.email, next); // the API agrees
  });

  it('sees the sessions of two browsers and revokes the other one, which is signed out', async () => {
    const second = await open({ userAgent: FIREFOX_ON_WINDOWS });
    const other = await second.newPage();
    await signInToAccount(other, person.email, person.password);

    await page.getByRole('button', { name: 'Refresh list' }).click();
    await expect.poll(() => sessionItems(page).count(), { timeout: 15_000 }).toBe(3);
    // The API login above is the third; the second browser's is recognisable by its browser.
    expect(await textOf(sessionItems(page).filter({ hasText: 'This device' }))).toContain(
      'Chrome on Linux',
    );
    await screenshot(page, FILE, '05-sessions');
    await page.getByRole('button', { name: /^Revoke the session of Firefox on Windows/ }).click();
    expect(await textOf(page.locator('#sessions-alert .alert-success'))).toMatch(/revoked/);
    await expect.poll(() => sessionItems(page).count()).toBe(2);
    await expect.poll(() => sessionItems(page).filter({ hasText: 'Firefox' }).count()).toBe(0);

    // The revoked browser finds out at its next call, and lands on the login page.
    await other.getByRole('button', { name: 'Refresh list' }).click();
    await other.waitForURL((url) => url.pathname === '/login');
    expect(new URL(other.url()).searchParams.get('reason')).toBe('ended');
    expect(await textOf(other.locator('#login-notice'))).toMatch(/session has ended/);
    await screenshot(other, FILE, '06-revoked-browser');
    await other.close();
  });

  it('recovers the account by the emailed link', async () => {
    const recovery = await open();
    const p = await recovery.newPage();
    await p.goto('/login');
    await p.getByRole('link', { name: 'Forgot your password?' }).click();
    await p.waitForURL((url) => url.pathname === '/forgot-password');
    await p.getByLabel('Email').fill(person.email);
    await p.getByRole('button', { name: 'Send reset email' }).click();
    expect(await textOf(p.locator('#code-sent'))).toMatch(/If an account exists/);
    await screenshot(p, FILE, '07-forgot-password');

    const { link } = linkIn(
      await waitForNth(smtp, person.email, SUBJECT.reset, 1),
      'reset-password',
    );
    await p.goto(link);
    const next = strongPassword();
    await p.getByLabel('New password', { exact: true }).fill(next);
    await p.getByLabel('Repeat the new password').fill(next);
    await p.getByRole('button', { name: 'Set new password' }).click();
    expect(await textOf(p.locator('#reset-done'))).toMatch(/password has been changed/);
    person.password = next;
    await p.getByRole('link', { name: 'Sign in', exact: true }).click();
    await p.waitForURL((url) => url.pathname === '/login');
    await signInToAccount(p, person.email, person.password);
    await p.close();
  });

  it('recovers the account again by the emailed code', async () => {
    await page.goto('/forgot-password');
    await page.getByLabel('Email').fill(person.email);
    await page.getByRole('button', { name: 'Send reset email' }).click();
    await page.getByLabel('6-digit code').waitFor();
    const code = codeIn(await waitForNth(smtp, person.email, SUBJECT.reset, 2));

    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await page.getByLabel('6-digit code').fill(wrong);
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await fieldError(page, 'code-code')).toBe('The code is invalid or has expired.');
    await page.getByLabel('6-digit code').fill(code);
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await textOf(page.locator('#reset-email'))).toBe(person.email);
    await screenshot(page, FILE, '08-reset-by-code');

    const next = strongPassword();
    await page.getByLabel('New password', { exact: true }).fill(next);
    await page.getByLabel('Repeat the new password').fill(next);
    await page.getByRole('button', { name: 'Set new password' }).click();
    expect(await textOf(page.locator('#reset-done'))).toMatch(/password has been changed/);
    person.password = next;
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    await signInToAccount(page, person.email, person.password);
  });
});

describe('an admin on /admin', { timeout: 120_000 }, () => {
  let admin: Page;
  const row = (email: string) => admin.locator(`#users-body tr[data-email="${email}"]`);

  /** Submits a search and waits for its answer (the form is busy until the table is drawn). */
  async function search(term: string): Promise<void> {
    await admin.getByLabel('Search', { exact: true }).fill(term);
    await admin.getByRole('button', { name: 'Search', exact: true }).click();
    await admin.locator('#filter-form:not([aria-busy])').waitFor();
  }

  it('signs in on the way to /admin and finds the person', async () => {
    admin = await (await open()).newPage();
    await admin.goto('/admin');
    await admin.waitForURL((url) => url.pathname === '/login');
    expect(new URL(admin.url()).searchParams.get('next')).toBe('/admin');
    await signIn(admin, ADMIN.email, ADMIN.password);
    await admin.waitForURL((url) => url.pathname === '/admin');
    await admin.locator('#admin').waitFor();
    expect(await admin.locator('#nav-admin').isVisible()).toBe(true);

    await search(person.email);
    await expect.poll(() => admin.locator('#users-body tr').count()).toBe(1);
    expect(await textOf(row(person.email))).toContain('Ada Lovelace');
    expect(await textOf(row(person.email))).toContain('Active');
    await screenshot(admin, FILE, '09-admin-search');
  });

  it('deactivates the person, whose open page then signs them out', async () => {
    await row(person.email)
      .getByRole('button', { name: `Deactivate: ${person.email}`, exact: true })
      .click();
    expect(await textOf(admin.locator('#list-alert .alert-success'))).toMatch(/deactivated/);
    await expect.poll(() => row(person.email).textContent()).toContain('Inactive');

    // The person's page (still open on /account) notices at its next call.
    await page.getByRole('button', { name: 'Refresh list' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    expect(await textOf(page.locator('#login-notice'))).toMatch(/session has ended/);
    await signIn(page, person.email, person.password);
    expect(await textOf(page.locator('#login-alert .alert-danger'))).toBe(
      'This account is disabled.',
    );
    await screenshot(page, FILE, '10-deactivated-user');

    await row(person.email)
      .getByRole('button', { name: `Activate: ${person.email}`, exact: true })
      .click();
    await expect.poll(() => row(person.email).textContent()).toContain('Active');
  });

  it('filters, pages, creates, changes a role and deletes', async () => {
    const { accessToken } = await login(server.api, ADMIN.email, ADMIN.password);
    const tag = uniqueUsername('pager').replace(/[^a-z0-9]/g, '');
    await Promise.all(
      Array.from({ length: 21 }, (_, i) =>
        server.api.post(
          '/api/users',
          { email: uniqueEmail(`p${i}`), password: strongPassword(), lastName: tag },
          { token: accessToken },
        ),
      ),
    );
    await search(tag);
    await expect
      .poll(() => admin.locator('#list-summary').textContent())
      .toBe('Showing 1–20 of 21 users.');
    expect(await admin.locator('#page-info').textContent()).toBe('Page 1 of 2');
    await admin.getByRole('button', { name: 'Next', exact: true }).click();
    await expect
      .poll(() => admin.locator('#list-summary').textContent())
      .toBe('Showing 21–21 of 21 users.');
    expect(new URL(admin.url()).searchParams.get('page')).toBe('2');
    await admin.getByRole('button', { name: 'Previous', exact: true }).click();
    await expect.poll(() => admin.locator('#users-body tr').count()).toBe(20);

    await admin.getByRole('button', { name: 'Clear', exact: true }).click();
    await admin.locator('#filter-role').selectOption('ADMIN');
    await expect.poll(() => admin.locator('#users-body tr').count()).toBe(1);
    expect(await row(ADMIN.email).count()).toBe(1);
    await admin.locator('#filter-role').selectOption('');

    const created = uniqueEmail('made');
    await admin.getByText('Create a user').click();
    const form = admin.locator('#create-form');
    await form.getByLabel('Email', { exact: true }).fill(person.email);
    await form.getByLabel('Password', { exact: true }).fill(strongPassword());
    await form.getByLabel('Role', { exact: true }).selectOption('ADMIN');
    await form.getByRole('button', { name: 'Create user' }).click();
    expect(await fieldError(admin, 'create-email')).toMatch(/already registered/);
    await form.getByLabel('Email', { exact: true }).fill(created);
    await form.getByRole('button', { name: 'Create user' }).click();
    expect(await textOf(admin.locator('#create-alert .alert-success'))).toBe(
      `${created} was created.`,
    );

    await search(created);
    await expect.poll(() => row(created).textContent()).toContain('Admin');
    await row(created)
      .getByRole('button', { name: `Make user: ${created}`, exact: true })
      .click();
    await expect.poll(() => row(created).locator('.badge').allTextContents()).toContain('User');
    await screenshot(admin, FILE, '11-admin-created');

    await row(created)
      .getByRole('button', { name: `Delete: ${created}`, exact: true })
      .click();
    await row(created)
      .getByRole('button', { name: `Confirm delete: ${created}`, exact: true })
      .click();
    expect(await textOf(admin.locator('#list-alert .alert-success'))).toBe(
      `${created} was deleted.`,
    );
    await expect.poll(() => row(created).count()).toBe(0);
  });

  it('refuses /admin to a non-admin, who never gets any user data', async () => {
    const someone = await register(server.api);
    const p = await (await open()).newPage();
    const userCalls: string[] = [];
    p.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/users')) userCalls.push(request.url());
    });
    await p.goto('/admin');
    await p.waitForURL((url) => url.pathname === '/login');
    expect(await p.locator('#login-notice').textContent()).toBe(''); // never signed in: no notice
    await signIn(p, someone.email, someone.password);
    await p.waitForURL((url) => url.pathname === '/admin');
    expect(await textOf(p.locator('#not-allowed'))).toMatch(/Not allowed/);
    expect(await p.locator('#admin').isHidden()).toBe(true);
    expect(await p.locator('#nav-admin').isHidden()).toBe(true);
    expect(await p.locator('#users-body tr').count()).toBe(0);
    expect(userCalls).toEqual([]);
    await screenshot(p, FILE, '12-admin-refused');
  });

  it('follows ?next= only to a page of this site, however the target is disguised', async () => {
    const someone = await register(server.api);
    const p = await (await open()).newPage();
    const disguised = ['/\t/evil.example', '/\n/evil.example', '//evil.example', '/\\evil.example'];
    disguised.push('https://evil.example/account');
    await p.goto(`/login?next=${encodeURIComponent(disguised[0])}`);
    const origin = new URL(p.url()).origin;
    await signIn(p, someone.email, someone.password);
    await p.waitForURL((url) => url.pathname === '/account');
    await p.locator('#account').waitFor();
    expect(new URL(p.url()).origin).toBe(origin);
    // Signed in now: /login forwards to ?next= by itself.
    for (const next of disguised.slice(1)) {
      await p.goto(`/login?next=${encodeURIComponent(next)}`);
      await p.waitForURL((url) => url.pathname === '/account');
      await p.locator('#account').waitFor();
      expect(new URL(p.url()).origin, next).toBe(origin);
    }
    await p.goto(`/login?next=${encodeURIComponent('/account?tab=sessions#top')}`);
    await p.waitForURL((url) => url.search === '?tab=sessions');
    await p.locator('#account').waitFor();
    expect(new URL(p.url()).origin).toBe(origin);
  });
});

it('broke no Content-Security-Policy rule and threw no script error on any page', () => {
  expect(contexts.length).toBeGreaterThan(3);
  for (const { problems } of contexts) {
    expect(problems.csp).toEqual([]);
    expect(problems.errors).toEqual([]);
  }
});
