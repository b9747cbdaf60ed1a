// Two-step sign-in with an authenticator app through the hosted pages (issue 16 point 10),
// in headless Chromium: set it up on /account (password, the key shown beside the QR code,
// a code computed from that key the way an app does), see the ten recovery codes and
// download them; sign out; sign in with the password and a code; sign in again with a
// recovery code (then one fewer is left); get new recovery codes; remove the app. One story,
// in order.
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newTestContext, screenshot, type TestContext } from './support/browser.js';
import { register } from './support/fixtures.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { Authenticator, wrongCodes } from './support/totp.js';

const FILE = import.meta.filename;

let server: TestServer;
let browser: Browser;
let context: TestContext;
let page: Page;
let person: { email: string; password: string };
let app: Authenticator;
let recoveryCodes: string[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  person = await register(server.api);
  context = await newTestContext(browser, server.url, { acceptDownloads: true });
  page = await context.newPage();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await cleanup();
});

async function signInWithPassword(): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email or username').fill(person.email);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signOut(): Promise<void> {
  await page.getByRole('button', { name: 'Log out here' }).click();
  await page.waitForURL(/\/login/);
}

describe('an authenticator app on the hosted pages', { timeout: 120_000 }, () => {
  it('sets it up on /account: QR code, key, a code, then ten recovery codes to download', async () => {
    await signInWithPassword();
    await page.waitForURL(/\/account$/);
    const card = page.locator('#mfa-card');
    await expect.poll(() => card.locator('#mfa-status').textContent()).toMatch(/^Off/);
    await card.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await card.getByLabel('Current password').fill(person.password);
    await card.getByRole('button', { name: 'Continue' }).click();
    const qr = card.locator('#totp-qr');
    await qr.waitFor();
    // The QR code is an image from a data: URL (no server markup parsed into the page).
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,/);
    expect(
      await qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
    ).toBeGreaterThan(0);
    const key = ((await card.locator('#totp-secret').textContent()) ?? '').replace(/\s/g, '');
    expect(key).toMatch(/^[A-Z2-7]{32}$/);
    app = new Authenticator(key);
    await card.getByLabel('Code from the app').fill(await app.fresh());
    await card.getByRole('button', { name: 'Confirm' }).click();
    const list = card.locator('#recovery-codes li');
    await expect.poll(() => list.count()).toBe(10);
    recoveryCodes = (await list.allTextContents()).map((code) => code.trim());
    expect(new Set(recoveryCodes).size).toBe(10);
    const download = page.waitForEvent('download');
    await card.getByRole('button', { name: 'Download' }).click();
    const file = await (await download).path();
    const text = readFileSync(file, 'utf8');
    for (const code of recoveryCodes) expect(text).toContain(code);
    await screenshot(page, FILE, 'recovery-codes');
    await card.getByRole('button', { name: 'I have saved them' }).click();
    await expect.poll(() => card.locator('#mfa-status').textContent()).toMatch(/^On/);
    await expect(list.count()).resolves.toBe(0);
  });

  it('signs in with the password and then a code from the app', async () => {
    await signOut();
    await signInWithPassword();
    const step = page.locator('#mfa-form');
    await step.waitFor();
    await expect(page.locator('#login-form').isHidden()).resolves.toBe(true);
    await step.getByLabel('Authentication code').fill(wrongCodes(app, 1)[0]);
    await step.getByRole('button', { name: 'Verify' }).click();
    await expect
      .poll(() => page.locator('#mfa-alert').textContent())
      .toContain('The code is invalid or has expired.');
    await step.getByLabel('Authentication code').fill(await app.fresh());
    await step.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/account$/);
  });

  it('signs in with a recovery code instead; one fewer is left', async () => {
    await signOut();
    await signInWithPassword();
    const step = page.locator('#mfa-form');
    await step.getByRole('button', { name: 'Use a recovery code' }).click();
    await step.getByLabel('Recovery code').fill(recoveryCodes[0]);
    await step.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/account$/);
    await expect
      .poll(() => page.locator('#mfa-status').textContent())
      .toContain('Recovery codes left: 9.');
  });

  it('makes new recovery codes, then removes the app: the password alone signs in again', async () => {
    const card = page.locator('#mfa-card');
    await card.getByLabel('Password', { exact: true }).fill(person.password);
    // A recovery code as the proof (a code of the app would wait for the next 30 s step).
    await card.getByLabel('Code or recovery code').fill(recoveryCodes[1]);
    await card.getByRole('button', { name: 'New recovery codes' }).click();
    const list = card.locator('#recovery-codes li');
    await expect.poll(() => list.count()).toBe(10);
    const fresh = (await list.allTextContents()).map((code) => code.trim());
    expect(fresh.some((code) => recoveryCodes.includes(code))).toBe(false);
    await card.getByRole('button', { name: 'I have saved them' }).click();
    await card.getByLabel('Password', { exact: true }).fill(person.password);
    await card.getByLabel('Code or recovery code').fill(await app.fresh());
    await card.getByRole('button', { name: 'Remove the authenticator app' }).click();
    await expect.poll(() => card.locator('#mfa-status').textContent()).toMatch(/^Off/);
    await signOut();
    await signInWithPassword();
    await page.waitForURL(/\/account$/);
    expect(context.problems.csp).toEqual([]);
    expect(context.problems.errors).toEqual([]);
  });
});
