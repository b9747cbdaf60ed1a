// Cookie transport (issue 5, point 4; API.md "Sessions and cookies"): with
// REFRESH_TOKEN_TRANSPORT=cookie the refresh token travels only in the HttpOnly
// `refresh_token` cookie, and every request that the cookie authenticates must echo the
// readable XSRF-TOKEN cookie in X-XSRF-TOKEN (Angular's names), else 403 FORBIDDEN.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTokenResponse } from './support/assertions.js';
import {
  cookieHeader,
  isExpired,
  setCookie,
  setCookies,
  type SetCookie,
} from './support/cookies.js';
import { register, registerAndLogin } from './support/fixtures.js';
import { type Api, type ApiResponse, describeResponse, expectProblem } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

/** Cookie transport, defaults (Secure cookies, 7-day idle expiry). */
let cookieServer: TestServer;
/** Cookie transport over plain http: COOKIE_SECURE=false; sessions end after 1 h at most. */
let plainServer: TestServer;
/** Body transport on the same database as cookieServer (a deployment switching transport). */
let bodyServer: TestServer;
let api: Api;

beforeAll(async () => {
  cookieServer = await startServer({ env: { REFRESH_TOKEN_TRANSPORT: 'cookie' } });
  [plainServer, bodyServer] = await Promise.all([
    startServer({
      env: {
        REFRESH_TOKEN_TRANSPORT: 'cookie',
        COOKIE_SECURE: 'false',
        REFRESH_TOKEN_TTL: '2h',
        SESSION_MAX_AGE: '1h',
      },
    }),
    startServer({ database: cookieServer.db, env: { REFRESH_TOKEN_TRANSPORT: 'body' } }),
  ]);
  api = cookieServer.api;
});
afterAll(cleanup);

interface CookieSession {
  refresh: SetCookie;
  xsrf: SetCookie;
  accessToken: string;
  body: Record<string, unknown>;
}

function sessionFrom(res: ApiResponse): CookieSession {
  expect(res.status, describeResponse(res)).toBe(200);
  return {
    refresh: setCookie(res.headers, 'refresh_token'),
    xsrf: setCookie(res.headers, 'XSRF-TOKEN'),
    accessToken: res.body.access_token,
    body: res.body,
  };
}

async function cookieLogin(on: Api = api): Promise<CookieSession & { email: string }> {
  const { email, password } = await register(on);
  return { ...sessionFrom(await on.post('/api/auth/login', { email, password })), email };
}

/** Cookies as the browser would send them to /api/auth, and optionally the XSRF header. */
function browserHeaders(s: CookieSession, xsrfHeader?: string): Record<string, string> {
  return {
    cookie: cookieHeader({ refresh_token: s.refresh.value, 'XSRF-TOKEN': s.xsrf.value }),
    ...(xsrfHeader === undefined ? {} : { 'x-xsrf-token': xsrfHeader }),
  };
}

const refresh = (s: CookieSession, xsrfHeader?: string, on: Api = api) =>
  on.post('/api/auth/refresh', undefined, { headers: browserHeaders(s, xsrfHeader) });

function maxAgeOf(cookie: SetCookie): number {
  return Number(cookie.attributes.get('max-age'));
}

describe('login in cookie transport', () => {
  it('sets the refresh_token cookie (HttpOnly, SameSite=Strict, Path=/api/auth, Secure) and no refresh_token in the body', async () => {
    const s = await cookieLogin();
    expect(s.refresh.value).toMatch(/^[\w-]{43,}$/);
    expect(s.refresh.attributes.get('path')).toBe('/api/auth');
    expect(s.refresh.attributes.has('httponly')).toBe(true);
    expect(s.refresh.attributes.get('samesite')?.toLowerCase()).toBe('strict');
    expect(s.refresh.attributes.has('secure')).toBe(true);
    expect(s.refresh.attributes.has('domain')).toBe(false);
    // Max-Age matches the session: REFRESH_TOKEN_TTL=7d idle expiry.
    expect(maxAgeOf(s.refresh)).toBeGreaterThan(7 * 86_400 - 120);
    expect(maxAgeOf(s.refresh)).toBeLessThanOrEqual(7 * 86_400);

    expect(Object.keys(s.body).sort()).toEqual([
      'access_token',
      'expires_in',
      'token_type',
      'user',
    ]);
    expect(JSON.stringify(s.body)).not.toContain(s.refresh.value);
    expect((await api.get('/api/auth/me', { token: s.accessToken })).status).toBe(200);
  });

  it('sets a readable XSRF-TOKEN cookie (not HttpOnly, SameSite=Strict, Path=/, Secure) unrelated in value to the refresh token', async () => {
    const s = await cookieLogin();
    expect(s.xsrf.value).toMatch(/^[\w-]{32,}$/);
    expect(s.xsrf.value).not.toBe(s.refresh.value);
    expect(s.xsrf.attributes.has('httponly')).toBe(false);
    expect(s.xsrf.attributes.get('samesite')?.toLowerCase()).toBe('strict');
    expect(s.xsrf.attributes.get('path')).toBe('/');
    expect(s.xsrf.attributes.has('secure')).toBe(true);
    expect(maxAgeOf(s.xsrf)).toBe(maxAgeOf(s.refresh));
  });

  it('leaves Secure off with COOKIE_SECURE=false, and caps Max-Age at SESSION_MAX_AGE', async () => {
    const s = await cookieLogin(plainServer.api);
    for (const cookie of [s.refresh, s.xsrf]) {
      expect(cookie.attributes.has('secure'), cookie.raw).toBe(false);
      expect(maxAgeOf(cookie)).toBeGreaterThan(3_600 - 120);
      expect(maxAgeOf(cookie)).toBeLessThanOrEqual(3_600);
    }
    expect(s.refresh.attributes.has('httponly')).toBe(true);
  });
});

describe('POST /api/auth/refresh in cookie transport', () => {
  it('rotates with the cookie and X-XSRF-TOKEN: new cookies, no refresh_token in the body', async () => {
    const s = await cookieLogin();
    const res = await refresh(s, s.xsrf.value);
    const next = sessionFrom(res);
    expect(Object.keys(next.body).sort()).toEqual([
      'access_token',
      'expires_in',
      'token_type',
      'user',
    ]);
    expect(next.refresh.value).not.toBe(s.refresh.value);
    expect(next.xsrf.value).not.toBe(s.xsrf.value);
    expect(next.refresh.attributes.get('path')).toBe('/api/auth');
    expect(next.refresh.attributes.has('httponly')).toBe(true);
    expect((await api.get('/api/auth/me', { token: next.accessToken })).status).toBe(200);
    // The next refresh needs the new pair: the new refresh cookie with the old XSRF value fails.
    expectProblem(
      await api.post('/api/auth/refresh', undefined, {
        headers: {
          cookie: cookieHeader({ refresh_token: next.refresh.value, 'XSRF-TOKEN': s.xsrf.value }),
          'x-xsrf-token': s.xsrf.value,
        },
      }),
      403,
      'FORBIDDEN',
    );
    expect(sessionFrom(await refresh(next, next.xsrf.value)).refresh.value).not.toBe(
      next.refresh.value,
    );
  });

  it('answers 403 FORBIDDEN without X-XSRF-TOKEN, or with a value other than the cookie, and rotates nothing', async () => {
    const s = await cookieLogin();
    expectProblem(await refresh(s), 403, 'FORBIDDEN');
    expectProblem(await refresh(s, ''), 403, 'FORBIDDEN');
    expectProblem(await refresh(s, `${s.xsrf.value}x`), 403, 'FORBIDDEN');
    expectProblem(await refresh(s, s.refresh.value), 403, 'FORBIDDEN');
    // No XSRF cookie at all, header copied from elsewhere.
    expectProblem(
      await api.post('/api/auth/refresh', undefined, {
        headers: {
          cookie: cookieHeader({ refresh_token: s.refresh.value }),
          'x-xsrf-token': s.xsrf.value,
        },
      }),
      403,
      'FORBIDDEN',
    );
    // The session is intact: the same cookie still rotates once the header is right.
    expect((await refresh(s, s.xsrf.value)).status).toBe(200);
  });

  it('answers 403 to a planted XSRF pair (cookie = header) that is not the session’s', async () => {
    const victim = await cookieLogin();
    const attacker = await cookieLogin();
    for (const planted of ['attacker-chosen-value', attacker.xsrf.value]) {
      const res = await api.post('/api/auth/refresh', undefined, {
        headers: {
          cookie: cookieHeader({ refresh_token: victim.refresh.value, 'XSRF-TOKEN': planted }),
          'x-xsrf-token': planted,
        },
      });
      expectProblem(res, 403, 'FORBIDDEN');
    }
    expect((await refresh(victim, victim.xsrf.value)).status).toBe(200);
  });

  it('answers 401 INVALID_REFRESH_TOKEN with neither a cookie nor a body token', async () => {
    expectProblem(await api.post('/api/auth/refresh', {}), 401, 'INVALID_REFRESH_TOKEN');
    expectProblem(await api.post('/api/auth/refresh'), 401, 'INVALID_REFRESH_TOKEN');
  });

  it('gives a second tab that sends the old pair within the grace window the same new pair', async () => {
    const s = await cookieLogin();
    const next = sessionFrom(await refresh(s, s.xsrf.value));
    const again = sessionFrom(await refresh(s, s.xsrf.value));
    expect(again.refresh.value).toBe(next.refresh.value);
    expect(again.xsrf.value).toBe(next.xsrf.value);
  });

  it('moves a session opened in body transport to the cookie (refresh_token in the body, no cookie)', async () => {
    const bodyLogin = await registerAndLogin(bodyServer.api);
    expect(bodyLogin.refreshToken).toMatch(/^[\w-]{43,}$/);
    const res = await api.post('/api/auth/refresh', { refresh_token: bodyLogin.refreshToken });
    const moved = sessionFrom(res);
    expect(moved.body).not.toHaveProperty('refresh_token');
    expect((await refresh(moved, moved.xsrf.value)).status).toBe(200);
  });
});

describe('POST /api/auth/logout in cookie transport', () => {
  function expectCleared(res: ApiResponse): void {
    const refreshCookie = setCookie(res.headers, 'refresh_token');
    const xsrfCookie = setCookie(res.headers, 'XSRF-TOKEN');
    expect(isExpired(refreshCookie), refreshCookie.raw).toBe(true);
    expect(refreshCookie.attributes.get('path')).toBe('/api/auth');
    expect(refreshCookie.value).toBe('');
    expect(isExpired(xsrfCookie), xsrfCookie.raw).toBe(true);
    expect(xsrfCookie.attributes.get('path')).toBe('/');
  }

  it('ends the session by the cookie with X-XSRF-TOKEN and clears both cookies', async () => {
    const s = await cookieLogin();
    const res = await api.post('/api/auth/logout', undefined, {
      headers: browserHeaders(s, s.xsrf.value),
    });
    expect(res.status, describeResponse(res)).toBe(204);
    expectCleared(res);
    expectProblem(await refresh(s, s.xsrf.value), 401, 'INVALID_REFRESH_TOKEN');
    expectProblem(await api.get('/api/auth/me', { token: s.accessToken }), 401, 'UNAUTHORIZED');
  });

  it('answers 403 FORBIDDEN to a logout by cookie without the header, and the session lives on', async () => {
    const s = await cookieLogin();
    const res = await api.post('/api/auth/logout', undefined, { headers: browserHeaders(s) });
    expectProblem(res, 403, 'FORBIDDEN');
    expect(setCookies(res.headers)).toEqual([]);
    expect((await api.get('/api/auth/me', { token: s.accessToken })).status).toBe(200);
  });

  it('takes the access token without X-XSRF-TOKEN (not cookie-authenticated) and clears the cookies', async () => {
    const s = await cookieLogin();
    const res = await api.post('/api/auth/logout', undefined, {
      token: s.accessToken,
      headers: browserHeaders(s),
    });
    expect(res.status, describeResponse(res)).toBe(204);
    expectCleared(res);
    expectProblem(await refresh(s, s.xsrf.value), 401, 'INVALID_REFRESH_TOKEN');
  });

  it('keeps the cookies with scope=others, since this session goes on', async () => {
    const s = await cookieLogin();
    const res = await api.post(
      '/api/auth/logout',
      { scope: 'others' },
      { token: s.accessToken, headers: browserHeaders(s) },
    );
    expect(res.status, describeResponse(res)).toBe(204);
    expect(setCookies(res.headers)).toEqual([]);
    expect((await refresh(s, s.xsrf.value)).status).toBe(200);
  });
});

describe('body transport is unchanged', () => {
  it('sets no cookie, returns refresh_token in the body and ignores a refresh cookie', async () => {
    const bodyApi = bodyServer.api;
    const { email, password } = await register(bodyApi);
    const res = await bodyApi.post('/api/auth/login', { email, password });
    expectTokenResponse(res.body);
    expect(res.body.refresh_token).toMatch(/^[\w-]{43,}$/);
    expect(setCookies(res.headers)).toEqual([]);
    const byCookie = await bodyApi.post('/api/auth/refresh', undefined, {
      headers: { cookie: cookieHeader({ refresh_token: res.body.refresh_token }) },
    });
    expectProblem(byCookie, 401, 'INVALID_REFRESH_TOKEN');
    const byBody = await bodyApi.post('/api/auth/refresh', {
      refresh_token: res.body.refresh_token,
    });
    expect(byBody.status, describeResponse(byBody)).toBe(200);
    expect(setCookies(byBody.headers)).toEqual([]);
  });
});

describe('OpenAPI', () => {
  it('declares the refresh_token cookie scheme on refresh and logout and describes the mode', async () => {
    const spec = (await api.get('/docs-json')).body;
    expect(spec.components.securitySchemes.refresh_token).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: 'refresh_token',
    });
    for (const path of ['/api/auth/refresh', '/api/auth/logout']) {
      const op = spec.paths[path].post;
      expect(op.security, path).toEqual(expect.arrayContaining([{ refresh_token: [] }]));
      expect(op.description, path).toMatch(/X-XSRF-TOKEN/);
      expect(Object.keys(op.responses), path).toContain('403');
    }
    expect(spec.paths['/api/auth/login'].post.description).toMatch(/XSRF-TOKEN/);
  });
});
