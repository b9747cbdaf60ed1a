// The hosted pages through HTTP (their behaviour in a browser is in pages-*.e2e.test.ts):
// routes, assets, what they must not shadow, HOSTED_PAGES=false, and email links that a
// GET (a mail scanner) never consumes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register, strongPassword } from './support/fixtures.js';
import { type Api, describeResponse, expectProblem } from './support/http.js';
import { linkIn, SUBJECT, waitForNth } from './support/mail.js';
import {
  cleanup,
  freePort,
  startProcess,
  startServer,
  tail,
  type TestServer,
  waitForExit,
} from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

const PAGES = [
  '/login',
  '/register',
  '/forgot-password',
  '/reset-password',
  '/verify-email',
  '/account',
  '/admin',
];

let smtp: SmtpSink;
/** HOSTED_PAGES unset (on), PUBLIC_URL its own URL and APP_URL unset: the defaults. */
let server: TestServer;
let off: TestServer;
let api: Api;

beforeAll(async () => {
  smtp = await startSmtpSink();
  const port = await freePort();
  [server, off] = await Promise.all([
    startServer({ port, env: { SMTP_URL: smtp.url, PUBLIC_URL: `http://127.0.0.1:${port}` } }),
    startServer({ env: { HOSTED_PAGES: 'false' } }),
  ]);
  api = server.api;
});
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

/** Every `src`/`href` of a page's markup. */
function references(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
}

describe('with HOSTED_PAGES on (the default)', () => {
  it.each(PAGES)(
    '%s is HTML that loads only same-origin files, with no inline script, style or handler',
    async (path) => {
      const res = await api.get(path);
      expect(res.status, describeResponse(res)).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const html = res.text;
      expect(html).toMatch(/<html lang="en">/);
      expect(html).toMatch(/<title>[^<]+<\/title>/);
      expect(html).toMatch(/<main id="main"/);
      // A Content-Security-Policy of `script-src 'self'; style-src 'self'` must lose nothing.
      for (const script of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
        expect(script[1]).toMatch(/\bsrc="\/assets\/js\/[\w-]+\.js"/);
        expect(script[2].trim()).toBe('');
      }
      expect(html).not.toMatch(/<style\b/i);
      expect(html).not.toMatch(/\sstyle=/i);
      expect(html).not.toMatch(/\son[a-z]+=/i);
      for (const ref of references(html)) {
        expect(ref, 'same-origin path or fragment').toMatch(/^(\/(?!\/)|#)/);
      }
      // Every field has a label.
      for (const field of html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)) {
        const id = /\sid="([^"]+)"/.exec(field[2])?.[1];
        expect(id, `${field[0]} needs an id for its label`).toBeTruthy();
        expect(html).toContain(`for="${id}"`);
      }
    },
  );

  it('serves the scripts, styles and Bootstrap the pages reference', async () => {
    const assets = new Set<string>();
    for (const path of PAGES) {
      for (const ref of references((await api.get(path)).text)) {
        if (ref.startsWith('/assets/') || ref.startsWith('/vendor/')) assets.add(ref);
      }
    }
    expect(assets).toContain('/vendor/bootstrap/css/bootstrap.min.css');
    expect(assets).toContain('/assets/js/login.js');
    for (const asset of assets) {
      const res = await api.get(asset);
      expect(res.status, `${asset}: ${describeResponse(res)}`).toBe(200);
      const type = asset.endsWith('.js')
        ? /javascript/
        : asset.endsWith('.css')
          ? /^text\/css/
          : /^image\/svg\+xml/;
      expect(res.headers.get('content-type'), asset).toMatch(type);
      expect(res.headers.get('cache-control'), asset).toBe('no-cache');
    }
    // The page scripts import the shared modules by relative path: those are served too.
    const login = await api.get('/assets/js/login.js');
    for (const [, module] of login.text.matchAll(/from '\.\/(lib\/[\w-]+\.js)'/g)) {
      expect((await api.get(`/assets/js/${module}`)).status, module).toBe(200);
    }
  });

  it('redirects / to /login', async () => {
    const res = await api.get('/');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login');
  });

  it.each([
    '/assets/js/nope.js',
    '/assets/',
    '/vendor/bootstrap/nope.css',
    '/login.html',
    '/login/',
    '/account/settings',
  ])('answers 404 problem+json for %s', async (path) => {
    expectProblem(await api.get(path), 404, 'NOT_FOUND');
  });

  it('refuses a path that climbs out of the assets directory', async () => {
    const res = await api.get('/assets/%2e%2e/login.html');
    expect([400, 403, 404]).toContain(res.status);
    expect(res.text).not.toContain('<html');
  });

  it('shadows none of /api, /docs, /health, /metrics, /.well-known', async () => {
    expectProblem(await api.get('/api/auth/me'), 401, 'UNAUTHORIZED');
    expectProblem(await api.get('/api/login'), 404, 'NOT_FOUND');
    expect((await api.get('/health/live')).body).toEqual({ status: 'ok' });
    expect((await api.get('/metrics')).text).toContain('# HELP');
    expect((await api.get('/.well-known/jwks.json')).body.keys).toHaveLength(1);
    const docs = await api.get('/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger-ui');
    const spec = await api.get('/docs-json');
    expect(spec.status).toBe(200);
    // The pages are not API operations.
    for (const path of [...PAGES, '/']) expect(spec.body.paths).not.toHaveProperty(path);
  });

  it('emails verification links to APP_URL (PUBLIC_URL by default), and a GET of the page never uses the token', async () => {
    const { email } = await register(api);
    const { link, token } = linkIn(await waitForNth(smtp, email, SUBJECT.verify), 'verify-email');
    expect(link).toBe(`${server.url}/verify-email?token=${token}`);
    for (let i = 0; i < 2; i += 1) {
      const page = await api.get(link.slice(server.url.length));
      expect(page.status).toBe(200);
      expect(page.text).toContain('/assets/js/verify-email.js');
    }
    const verified = await api.post('/api/auth/verify-email', { token });
    expect(verified.status, describeResponse(verified)).toBe(200);
    expect(verified.body.emailVerified).toBe(true);
  });

  it('emails reset links to the reset page, and a GET of the page never uses the token', async () => {
    const { email } = await register(api);
    expect((await api.post('/api/recovery/forgot-password', { email })).status).toBe(202);
    const { link, token } = linkIn(await waitForNth(smtp, email, SUBJECT.reset), 'reset-password');
    expect(link).toBe(`${server.url}/reset-password?token=${token}`);
    expect((await api.get(link.slice(server.url.length))).status).toBe(200);
    const reset = await api.post('/api/recovery/reset-password', {
      token,
      newPassword: strongPassword(),
    });
    expect(reset.status, describeResponse(reset)).toBe(204);
  });
});

describe('with HOSTED_PAGES=false', () => {
  it.each([...PAGES, '/', '/assets/js/login.js', '/vendor/bootstrap/css/bootstrap.min.css'])(
    'answers 404 problem+json for %s',
    async (path) => {
      expectProblem(await off.api.get(path), 404, 'NOT_FOUND');
    },
  );

  it('still serves the API and Swagger UI', async () => {
    expectProblem(await off.api.get('/api/auth/me'), 401, 'UNAUTHORIZED');
    expect((await off.api.get('/docs')).status).toBe(200);
  });
});

it('refuses to start with a HOSTED_PAGES that is not a boolean, naming the variable', async () => {
  const proc = startProcess({
    HOSTED_PAGES: 'sometimes',
    DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
  });
  const code = await waitForExit(proc);
  expect(code, tail(proc.logs)).toBe(1);
  expect(proc.logs.join('\n')).toMatch(/HOSTED_PAGES must be true or false/);
});
