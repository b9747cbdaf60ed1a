import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';
import { ROOT } from './server.js';

/** Debian's Chromium (`.ci/run` installs it): test tools never download browsers. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Artifacts of the browser tests (gitignored): screenshots at the key steps. */
export const SCREENSHOTS = join(ROOT, 'test-results/screenshots');

/** The hosted pages: the only documents the strict test CSP is added to. */
const PAGE_PATHS = new Set([
  '/login',
  '/register',
  '/forgot-password',
  '/reset-password',
  '/verify-email',
  '/account',
  '/admin',
]);

/**
 * What the pages must live with: scripts and styles from this origin only (no inline code,
 * no `style` attributes), fetch() to this origin only. `img-src data:` is for the small SVGs
 * Bootstrap's CSS embeds (select arrows, check marks), as helmet's default CSP allows.
 */
export const STRICT_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * One headless Chromium per test file; contexts (fresh profiles, like separate browsers)
 * per person. Playwright gives the browser a fresh temporary user-data directory.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Problems a page reported: CSP violations and uncaught script errors. */
export interface PageProblems {
  csp: string[];
  errors: string[];
}

export interface TestContext {
  context: BrowserContext;
  problems: PageProblems;
  newPage(): Promise<Page>;
}

/**
 * A browser context on `baseURL`. Documents of the hosted pages that arrive without a
 * Content-Security-Policy get `STRICT_CSP` (a server with its own CSP is tested with its
 * own), so any inline script or style shows up as a violation in `problems.csp`.
 */
export async function newTestContext(
  browser: Browser,
  baseURL: string,
  options: BrowserContextOptions = {},
): Promise<TestContext> {
  const context = await browser.newContext({ baseURL, ...options });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  const origin = new URL(baseURL).origin;
  await context.route(
    (url) => url.origin === origin && PAGE_PATHS.has(url.pathname),
    async (route) => {
      const response = await route.fetch({ maxRedirects: 0 });
      const headers = response.headers();
      if (!headers['content-security-policy']) headers['content-security-policy'] = STRICT_CSP;
      await route.fulfill({ response, headers });
    },
  );
  const problems: PageProblems = { csp: [], errors: [] };
  const watch = (page: Page) => {
    page.on('console', (message) => {
      const text = message.text();
      if (/Content Security Policy|Refused to (load|apply|execute|connect)/i.test(text)) {
        problems.csp.push(`${page.url()}: ${text}`);
      }
    });
    page.on('pageerror', (error) => problems.errors.push(`${page.url()}: ${error.message}`));
  };
  context.on('page', watch);
  return { context, problems, newPage: () => context.newPage() };
}

/**
 * Saves a screenshot as `test-results/screenshots/<test file>-<name>.png`: the whole page,
 * or only the viewport (`fullPage: false`) for very long pages.
 */
export async function screenshot(
  page: Page,
  testFile: string,
  name: string,
  { fullPage = true } = {},
): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const prefix = basename(testFile).replace(/\.e2e\.test\.ts$|\.test\.ts$/, '');
  await page.screenshot({ path: join(SCREENSHOTS, `${prefix}-${name}.png`), fullPage });
}

/**
 * The few browser globals tests read inside `page.evaluate()` (the tests' tsconfig has no
 * DOM library): `const w = globalThis as unknown as BrowserWindow`. A type only, so
 * nothing but the callback itself is sent to the page.
 */
export interface BrowserWindow {
  document: {
    cookie: string;
    activeElement: { id: string } | null;
    documentElement: { scrollWidth: number };
  };
  sessionStorage: Record<string, string>;
  localStorage: Record<string, string>;
  open(url: string): unknown;
}
