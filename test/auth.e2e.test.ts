// The Auth table of API.md (verify-email and resend-verification excepted), through HTTP.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTokenResponse, expectUser, ISO_UTC_RE } from './support/assertions.js';
import { createTestDatabase } from './support/db.js';
import {
  login,
  register,
  registerAndLogin,
  strongPassword,
  type Tokens,
  uniqueEmail,
  uniqueUsername,
} from './support/fixtures.js';
import {
  type Api,
  decodeJwtPart,
  describeResponse,
  expectProblem,
  findLeaks,
  sleep,
  UUID_RE,
} from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

let main: TestServer;
/** REFRESH_REUSE_GRACE=2s, for reuse detection after the grace window. */
let grace: TestServer;
/** REFRESH_TOKEN_TTL=2s (idle) and SESSION_MAX_AGE=4s (absolute). */
let expiry: TestServer;
let api: Api;

beforeAll(async () => {
  [main, grace, expiry] = await Promise.all([
    startServer(),
    startServer({ env: { REFRESH_REUSE_GRACE: '2s' } }),
    startServer({ env: { REFRESH_TOKEN_TTL: '2s', SESSION_MAX_AGE: '4s' } }),
  ]);
  api = main.api;
});
afterAll(cleanup);

const me = (a: Api, token: string) => a.get('/api/auth/me', { token });
const refresh = (a: Api, refreshToken: string) =>
  a.post('/api/auth/refresh', { refresh_token: refreshToken });

/** Status of GET /me with the access token and of a refresh with the refresh token. */
async function sessionState(a: Api, t: Tokens): Promise<{ access: number; refresh: number }> {
  const access = (await me(a, t.accessToken)).status;
  const r = await refresh(a, t.refreshToken);
  if (r.status === 200) {
    t.refreshToken = r.body.refresh_token;
    t.accessToken = r.body.access_token;
  }
  return { access, refresh: r.status };
}

function errorFields(body: any): string[] {
  expect(Array.isArray(body.errors), `errors[] in ${JSON.stringify(body)}`).toBe(true);
  for (const e of body.errors) {
    expect(e.field).toBeTypeOf('string');
    expect(e.message).toBeTypeOf('string');
  }
  return body.errors.map((e: { field: string }) => e.field);
}

describe('POST /api/auth/register', () => {
  it('creates the user and answers 201 { user } without any secret', async () => {
    const email = uniqueEmail('ada');
    const password = strongPassword();
    const username = uniqueUsername('ada');
    const res = await api.post('/api/auth/register', {
      email,
      password,
      username,
      firstName: 'Ada',
      lastName: 'Lovelace',
    });
    expect(res.status, describeResponse(res)).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(['user']);
    const user = res.body.user;
    expectUser(user);
    expect(user).toMatchObject({
      email,
      username,
      firstName: 'Ada',
      lastName: 'Lovelace',
      role: 'USER',
      active: true,
      emailVerified: false,
      lastLoginAt: null,
    });
    expect(res.text).not.toContain(password);
    expect(res.text).not.toMatch(/argon2|password_?hash|token_?hash|access_token|refresh_token/i);
  });

  it('stores optional fields as null when they are omitted', async () => {
    const res = await api.post('/api/auth/register', {
      email: uniqueEmail(),
      password: strongPassword(),
    });
    expect(res.status, describeResponse(res)).toBe(201);
    expect(res.body.user).toMatchObject({ username: null, firstName: null, lastName: null });
  });

  it('trims and lower-cases the email before storing and comparing it', async () => {
    const email = uniqueEmail('Grace.Hopper');
    const messy = `  ${email.toUpperCase()}  `;
    const password = strongPassword();
    const res = await api.post('/api/auth/register', { email: messy, password });
    expect(res.status, describeResponse(res)).toBe(201);
    expect(res.body.user.email).toBe(email.toLowerCase());
    await login(api, email.toLowerCase(), password);
    await login(api, ` ${email.toUpperCase()}`, password);
  });

  it('accepts usernames of 3 to 32 characters of a-z 0-9 _ . -', async () => {
    const r = randomBytes(16).toString('hex');
    for (const username of [r.slice(0, 3), `a.b-c_${r.slice(0, 8)}`, `z${r}`.slice(0, 32)]) {
      const res = await api.post('/api/auth/register', {
        email: uniqueEmail(),
        password: strongPassword(),
        username,
      });
      expect(res.status, `${username}: ${describeResponse(res)}`).toBe(201);
      expect(res.body.user.username).toBe(username);
    }
  });

  it.each([
    ['too short', 'ab'],
    ['too long', `u${'x'.repeat(32)}`],
    ['with a space', 'has space'],
    ['with @', 'ada@home'],
    ['with a non-ASCII letter', 'émile'],
    ['with a semicolon', 'semi;colon'],
    ['with a slash', 'a/b/c'],
  ])('rejects a username %s with 400 VALIDATION_FAILED', async (_why, username) => {
    const res = await api.post('/api/auth/register', {
      email: uniqueEmail(),
      password: strongPassword(),
      username,
    });
    const p = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(errorFields(p)).toContain('username');
  });

  it('rejects a taken email, whatever its case, with 409 EMAIL_TAKEN', async () => {
    const { email } = await register(api);
    for (const again of [email, email.toUpperCase(), ` ${email} `]) {
      const res = await api.post('/api/auth/register', {
        email: again,
        password: strongPassword(),
      });
      expectProblem(res, 409, 'EMAIL_TAKEN');
    }
  });

  it('rejects a taken username case-insensitively with 409 USERNAME_TAKEN', async () => {
    const username = uniqueUsername('taken');
    await register(api, { username });
    for (const again of [username, username.toUpperCase()]) {
      const res = await api.post('/api/auth/register', {
        email: uniqueEmail(),
        password: strongPassword(),
        username: again,
      });
      expectProblem(res, 409, 'USERNAME_TAKEN');
    }
  });

  it('answers 400 VALIDATION_FAILED with one errors[] entry per invalid field', async () => {
    const bad = await api.post('/api/auth/register', {
      email: 'not-an-email',
      password: 'short',
      username: 'x',
    });
    const p = expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(errorFields(p)).toEqual(expect.arrayContaining(['email', 'password', 'username']));

    const empty = await api.post('/api/auth/register', {});
    const q = expectProblem(empty, 400, 'VALIDATION_FAILED');
    expect(errorFields(q)).toEqual(expect.arrayContaining(['email', 'password']));
  });

  // Length is part of the password policy (issue 5): alone it is WEAK_PASSWORD.
  it('rejects a 129-character password with WEAK_PASSWORD and accepts a 128-character one', async () => {
    const tooLong = await api.post('/api/auth/register', {
      email: uniqueEmail(),
      password: `a${randomBytes(64).toString('hex')}`,
    });
    const p = expectProblem(tooLong, 400, 'WEAK_PASSWORD');
    expect(errorFields(p)).toContain('password');
    const longest = await api.post('/api/auth/register', {
      email: uniqueEmail(),
      password: randomBytes(64).toString('hex'),
    });
    expect(longest.status, describeResponse(longest)).toBe(201);
  });

  it('creates exactly one user when 20 registrations of one email race', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.post('/api/auth/register', {
          email: i % 2 === 0 ? email : email.toUpperCase(),
          password: strongPassword(),
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses, results.map(describeResponse).join('\n')).toEqual([
      201,
      ...Array<number>(19).fill(409),
    ]);
    for (const r of results.filter((x) => x.status === 409)) expectProblem(r, 409, 'EMAIL_TAKEN');
  });

  it('creates exactly one user when 10 registrations of one username race', async () => {
    const username = uniqueUsername('race');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api.post('/api/auth/register', {
          email: uniqueEmail(),
          password: strongPassword(),
          username: i % 2 === 0 ? username : username.toUpperCase(),
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses, results.map(describeResponse).join('\n')).toEqual([
      201,
      ...Array<number>(9).fill(409),
    ]);
    for (const r of results.filter((x) => x.status === 409)) {
      expectProblem(r, 409, 'USERNAME_TAKEN');
    }
  });
});

describe('POST /api/auth/login', () => {
  it('logs in by email with a token response and sets lastLoginAt', async () => {
    const { email, password } = await register(api);
    const before = Date.now();
    const res = await api.post('/api/auth/login', { email, password });
    expect(res.status, describeResponse(res)).toBe(200);
    expectTokenResponse(res.body);
    expect(res.body.user.email).toBe(email);
    expect(res.body.user.lastLoginAt).toMatch(ISO_UTC_RE);
    const at = Date.parse(res.body.user.lastLoginAt);
    expect(at).toBeGreaterThan(before - 60_000);
    expect(at).toBeLessThan(Date.now() + 60_000);

    const profile = await me(api, res.body.access_token);
    expect(profile.status, describeResponse(profile)).toBe(200);
    expect(profile.body.lastLoginAt).toBe(res.body.user.lastLoginAt);
  });

  it('logs in by username, compared case-insensitively', async () => {
    const username = uniqueUsername('login');
    const { password, user } = await register(api, { username });
    for (const name of [username, username.toUpperCase()]) {
      const res = await api.post('/api/auth/login', { username: name, password });
      expect(res.status, describeResponse(res)).toBe(200);
      expectTokenResponse(res.body);
      expect(res.body.user.id).toBe(user.id);
    }
  });

  it('answers 400 when both email and username, or neither, are given', async () => {
    const username = uniqueUsername();
    const { email, password } = await register(api, { username });
    expectProblem(await api.post('/api/auth/login', { email, username, password }), 400);
    expectProblem(await api.post('/api/auth/login', { password }), 400);
    expectProblem(await api.post('/api/auth/login', { email }), 400);
  });

  it('answers the same 401 INVALID_CREDENTIALS to a wrong password and an unknown user', async () => {
    const username = uniqueUsername();
    const { email } = await register(api, { username });
    const wrong = await api.post('/api/auth/login', { email, password: strongPassword() });
    const unknown = await api.post('/api/auth/login', {
      email: uniqueEmail('ghost'),
      password: strongPassword(),
    });
    const wrongByName = await api.post('/api/auth/login', {
      username,
      password: strongPassword(),
    });
    const unknownByName = await api.post('/api/auth/login', {
      username: uniqueUsername('ghost'),
      password: strongPassword(),
    });
    const bodies = [wrong, unknown, wrongByName, unknownByName].map((r) => {
      const p = expectProblem(r, 401, 'INVALID_CREDENTIALS');
      const { requestId, ...rest } = p;
      expect(requestId).toMatch(UUID_RE);
      return rest;
    });
    for (const b of bodies.slice(1)) expect(b).toEqual(bodies[0]);
  });
});

describe('POST /api/auth/refresh', () => {
  it('rotates the refresh token and answers a token response', async () => {
    const u = await registerAndLogin(api);
    const res = await refresh(api, u.refreshToken);
    expect(res.status, describeResponse(res)).toBe(200);
    expectTokenResponse(res.body);
    expect(res.body.refresh_token).not.toBe(u.refreshToken);
    expect(res.body.user.id).toBe(u.user.id);
    expect(decodeJwtPart(res.body.access_token).sid).toBe(decodeJwtPart(u.accessToken).sid);
    expect((await me(api, res.body.access_token)).status).toBe(200);
    // The successor rotates in turn.
    const next = await refresh(api, res.body.refresh_token);
    expect(next.status, describeResponse(next)).toBe(200);
    expect(next.body.refresh_token).not.toBe(res.body.refresh_token);
  });

  it('gives the same successor to a rotated token presented within the grace window', async () => {
    const u = await registerAndLogin(api);
    const first = await refresh(api, u.refreshToken);
    expect(first.status, describeResponse(first)).toBe(200);
    const again = await refresh(api, u.refreshToken);
    expect(again.status, describeResponse(again)).toBe(200);
    expect(again.body.refresh_token).toBe(first.body.refresh_token);
    expect((await me(api, again.body.access_token)).status).toBe(200);
  });

  it('answers 10 parallel refreshes of one token with one and the same successor', async () => {
    const u = await registerAndLogin(api);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => refresh(api, u.refreshToken)),
    );
    for (const r of results) expect(r.status, describeResponse(r)).toBe(200);
    const successors = new Set(results.map((r) => r.body.refresh_token));
    expect(successors.size).toBe(1);
    const [successor] = [...successors] as string[];
    expect(successor).not.toBe(u.refreshToken);

    // One chain only: still one session, and the successor rotates normally.
    const sessions = await api.get('/api/auth/sessions', { token: results[0].body.access_token });
    expect(sessions.status, describeResponse(sessions)).toBe(200);
    expect(sessions.body).toHaveLength(1);
    const next = await refresh(api, successor);
    expect(next.status, describeResponse(next)).toBe(200);
    expect(next.body.refresh_token).not.toBe(successor);
  });

  it('answers 401 INVALID_REFRESH_TOKEN to an unknown or malformed token', async () => {
    for (const token of [randomBytes(32).toString('base64url'), 'x', '🙂'.repeat(10)]) {
      expectProblem(await refresh(api, token), 401, 'INVALID_REFRESH_TOKEN');
    }
  });

  it('revokes the whole session when a rotated token is reused after the grace window', async () => {
    const g = grace.api;
    const u = await registerAndLogin(g);
    const rotated = await refresh(g, u.refreshToken);
    expect(rotated.status, describeResponse(rotated)).toBe(200);
    const successor = rotated.body.refresh_token as string;
    await sleep(2_600);

    expectProblem(await refresh(g, u.refreshToken), 401, 'INVALID_REFRESH_TOKEN');
    expectProblem(await refresh(g, successor), 401, 'INVALID_REFRESH_TOKEN');
    expectProblem(await me(g, rotated.body.access_token), 401, 'UNAUTHORIZED');
    expectProblem(await me(g, u.accessToken), 401, 'UNAUTHORIZED');
    // The user is not locked out: a new login works.
    await login(g, u.email, u.password);
  });

  it('logs out with a rotated refresh token only within the grace window', async () => {
    const g = grace.api;
    const u = await registerAndLogin(g);
    const other = await login(g, u.email, u.password);
    const rotated = await refresh(g, u.refreshToken);
    expect(rotated.status, describeResponse(rotated)).toBe(200);
    await sleep(2_600);
    // A token rotated 2.6 s ago (grace 2 s) ends nothing, not even with scope global.
    const stale = await g.post('/api/auth/logout', {
      refresh_token: u.refreshToken,
      scope: 'global',
    });
    expectProblem(stale, 401, 'UNAUTHORIZED');
    expect((await me(g, other.accessToken)).status).toBe(200);
    expect((await me(g, rotated.body.access_token)).status).toBe(200);
    // Its successor works, and a token rotated a moment ago too (a second tab).
    const next = await refresh(g, rotated.body.refresh_token);
    expect(next.status, describeResponse(next)).toBe(200);
    const inGrace = await g.post('/api/auth/logout', { refresh_token: rotated.body.refresh_token });
    expect(inGrace.status, describeResponse(inGrace)).toBe(204);
    expectProblem(await me(g, next.body.access_token), 401, 'UNAUTHORIZED');
    expect((await me(g, other.accessToken)).status).toBe(200);
  });

  it('expires a session that stays idle longer than REFRESH_TOKEN_TTL', async () => {
    const u = await registerAndLogin(expiry.api);
    await sleep(2_500);
    expectProblem(await refresh(expiry.api, u.refreshToken), 401, 'INVALID_REFRESH_TOKEN');
  });

  it('expires a session at SESSION_MAX_AGE even while it is refreshed every second', async () => {
    const { email, password } = await register(expiry.api);
    const before = Date.now(); // the session is created after this...
    let token = (await login(expiry.api, email, password)).refreshToken;
    const after = Date.now(); // ...and before this.
    // Refresh every 0.8 s, well within the 2 s idle time. Answers received before the session
    // can be 4 s old must be 200; a refresh sent once it is surely over 4 s old must be 401.
    let slidPastIdle = false;
    for (;;) {
      await sleep(800);
      const sentAt = Date.now();
      const res = await refresh(expiry.api, token);
      if (sentAt - after > 4_200) {
        expectProblem(res, 401, 'INVALID_REFRESH_TOKEN');
        break;
      }
      if (Date.now() - before < 3_800) {
        expect(res.status, `at ${sentAt - before} ms: ${describeResponse(res)}`).toBe(200);
      }
      if (res.status === 200) {
        token = res.body.refresh_token;
        if (sentAt - after > 2_000) slidPastIdle = true;
      }
    }
    // A refresh after the 2 s idle time of the login worked: the idle time slides.
    expect(slidPastIdle).toBe(true);
  });
});

describe('POST /api/auth/logout', () => {
  async function sessions(n: number) {
    const { email, password } = await register(api);
    const out: Tokens[] = [];
    for (let i = 0; i < n; i++) out.push(await login(api, email, password));
    return out;
  }

  it.each([
    ['no body', undefined],
    ['scope local', { scope: 'local' }],
  ])('with %s ends only the current session', async (_name, body) => {
    const [a, b] = (await sessions(2)) as [Tokens, Tokens];
    const res = await api.post('/api/auth/logout', body, { token: a.accessToken });
    expect(res.status, describeResponse(res)).toBe(204);
    expect(res.text).toBe('');
    expect(await sessionState(api, a)).toEqual({ access: 401, refresh: 401 });
    expect(await sessionState(api, b)).toEqual({ access: 200, refresh: 200 });
  });

  it('with scope others ends every other session and keeps the current one', async () => {
    const [a, b, c] = (await sessions(3)) as [Tokens, Tokens, Tokens];
    const res = await api.post('/api/auth/logout', { scope: 'others' }, { token: a.accessToken });
    expect(res.status, describeResponse(res)).toBe(204);
    expect(await sessionState(api, b)).toEqual({ access: 401, refresh: 401 });
    expect(await sessionState(api, c)).toEqual({ access: 401, refresh: 401 });
    expect(await sessionState(api, a)).toEqual({ access: 200, refresh: 200 });
  });

  it('with scope global ends every session of the user, and only of that user', async () => {
    const [a, b] = (await sessions(2)) as [Tokens, Tokens];
    const [other] = (await sessions(1)) as [Tokens];
    const res = await api.post('/api/auth/logout', { scope: 'global' }, { token: a.accessToken });
    expect(res.status, describeResponse(res)).toBe(204);
    expect(await sessionState(api, a)).toEqual({ access: 401, refresh: 401 });
    expect(await sessionState(api, b)).toEqual({ access: 401, refresh: 401 });
    expect(await sessionState(api, other)).toEqual({ access: 200, refresh: 200 });
  });

  it('accepts the refresh token in the body instead of an access token', async () => {
    const [a, b] = (await sessions(2)) as [Tokens, Tokens];
    const res = await api.post('/api/auth/logout', { refresh_token: a.refreshToken });
    expect(res.status, describeResponse(res)).toBe(204);
    expect(await sessionState(api, a)).toEqual({ access: 401, refresh: 401 });
    expect(await sessionState(api, b)).toEqual({ access: 200, refresh: 200 });
  });

  it('answers 401 without an access token or a valid refresh token', async () => {
    expectProblem(await api.post('/api/auth/logout'), 401);
    expectProblem(await api.post('/api/auth/logout', {}), 401);
    expectProblem(
      await api.post('/api/auth/logout', { refresh_token: randomBytes(32).toString('base64url') }),
      401,
    );
    const [a] = (await sessions(1)) as [Tokens];
    expect((await api.post('/api/auth/logout', undefined, { token: a.accessToken })).status).toBe(
      204,
    );
    // A second logout with the now-revoked access token.
    expectProblem(await api.post('/api/auth/logout', undefined, { token: a.accessToken }), 401);
  });

  it('answers 400 VALIDATION_FAILED to an unknown scope', async () => {
    const [a] = (await sessions(1)) as [Tokens];
    const res = await api.post(
      '/api/auth/logout',
      { scope: 'everything' },
      { token: a.accessToken },
    );
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect((await me(api, a.accessToken)).status).toBe(200);
  });
});

describe('GET /api/auth/me', () => {
  it('answers 200 with the caller', async () => {
    const u = await registerAndLogin(api, { firstName: 'Alan', lastName: 'Turing' });
    const res = await me(api, u.accessToken);
    expect(res.status, describeResponse(res)).toBe(200);
    // The user, and which second factors it has (none here).
    const { mfa, ...user } = res.body;
    expectUser(user);
    expect(mfa).toEqual({ methods: [], recoveryCodesRemaining: 0, passkeys: 0 });
    expect(res.body).toMatchObject({
      id: u.user.id,
      email: u.email,
      firstName: 'Alan',
      lastName: 'Turing',
    });
  });

  it('answers 401 UNAUTHORIZED without a token', async () => {
    expectProblem(await api.get('/api/auth/me'), 401, 'UNAUTHORIZED');
  });
});

describe('POST /api/auth/change-password', () => {
  const change = (token: string, body: unknown) =>
    api.post('/api/auth/change-password', body, { token });

  it('changes the password, keeps the current session and revokes the others', async () => {
    const { email, password } = await register(api);
    const a = await login(api, email, password);
    const b = await login(api, email, password);
    const newPassword = strongPassword();
    const res = await change(a.accessToken, {
      currentPassword: password,
      newPassword,
      confirmPassword: newPassword,
    });
    expect(res.status, describeResponse(res)).toBe(204);
    expect(res.text).toBe('');
    expect(await sessionState(api, a)).toEqual({ access: 200, refresh: 200 });
    expect(await sessionState(api, b)).toEqual({ access: 401, refresh: 401 });
    expectProblem(
      await api.post('/api/auth/login', { email, password }),
      401,
      'INVALID_CREDENTIALS',
    );
    await login(api, email, newPassword);
  });

  it('does not require confirmPassword', async () => {
    const u = await registerAndLogin(api);
    const newPassword = strongPassword();
    const res = await change(u.accessToken, { currentPassword: u.password, newPassword });
    expect(res.status, describeResponse(res)).toBe(204);
    await login(api, u.email, newPassword);
  });

  it('answers 400 INVALID_CURRENT_PASSWORD (not 401) to a wrong current password', async () => {
    const u = await registerAndLogin(api);
    const res = await change(u.accessToken, {
      currentPassword: strongPassword(),
      newPassword: strongPassword(),
    });
    expectProblem(res, 400, 'INVALID_CURRENT_PASSWORD');
    expect((await me(api, u.accessToken)).status).toBe(200);
    await login(api, u.email, u.password);
  });

  it('answers 400 PASSWORD_MISMATCH when confirmPassword differs', async () => {
    const u = await registerAndLogin(api);
    const res = await change(u.accessToken, {
      currentPassword: u.password,
      newPassword: strongPassword(),
      confirmPassword: strongPassword(),
    });
    expectProblem(res, 400, 'PASSWORD_MISMATCH');
    await login(api, u.email, u.password);
  });

  it('answers 400 WEAK_PASSWORD to a 7-character new password', async () => {
    const u = await registerAndLogin(api);
    const res = await change(u.accessToken, {
      currentPassword: u.password,
      newPassword: 'abc1234',
    });
    const p = expectProblem(res, 400, 'WEAK_PASSWORD');
    expect(errorFields(p)).toContain('newPassword');
    await login(api, u.email, u.password);
  });

  it('answers 401 UNAUTHORIZED without a token', async () => {
    const res = await api.post('/api/auth/change-password', {
      currentPassword: strongPassword(),
      newPassword: strongPassword(),
    });
    expectProblem(res, 401, 'UNAUTHORIZED');
  });
});

describe('sessions', () => {
  const SESSION_FIELDS = [
    'createdAt',
    'current',
    'expiresAt',
    'id',
    'ip',
    'lastUsedAt',
    'userAgent',
  ];

  it('lists the caller’s active sessions with exactly one marked current', async () => {
    const { email, password } = await register(api);
    const a = await login(api, email, password, { 'user-agent': 'agent-A/1.0' });
    const b = await login(api, email, password, { 'user-agent': 'agent-B/2.0' });
    const res = await api.get('/api/auth/sessions', { token: a.accessToken });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Array.isArray(res.body)).toBe(true);
    expect(res.body).toHaveLength(2);
    for (const s of res.body) {
      expect(Object.keys(s).sort()).toEqual(SESSION_FIELDS);
      expect(s.id).toMatch(UUID_RE);
      for (const k of ['createdAt', 'lastUsedAt', 'expiresAt']) expect(s[k], k).toMatch(ISO_UTC_RE);
      expect(Date.parse(s.expiresAt)).toBeGreaterThan(Date.now());
      expect(s.ip).toContain('127.0.0.1');
      expect(s.current).toBeTypeOf('boolean');
    }
    const current = res.body.filter((s: any) => s.current);
    expect(current).toHaveLength(1);
    expect(current[0].id).toBe(decodeJwtPart(a.accessToken).sid);
    expect(current[0].userAgent).toBe('agent-A/1.0');
    const other = res.body.find((s: any) => !s.current);
    expect(other.id).toBe(decodeJwtPart(b.accessToken).sid);
    expect(other.userAgent).toBe('agent-B/2.0');
  });

  it('DELETE /api/auth/sessions/:id revokes that session at once', async () => {
    const { email, password } = await register(api);
    const a = await login(api, email, password);
    const b = await login(api, email, password);
    const sidB = decodeJwtPart(b.accessToken).sid as string;
    const res = await api.delete(`/api/auth/sessions/${sidB}`, { token: a.accessToken });
    expect(res.status, describeResponse(res)).toBe(204);
    expect(await sessionState(api, b)).toEqual({ access: 401, refresh: 401 });
    expect(await sessionState(api, a)).toEqual({ access: 200, refresh: 200 });
    const list = await api.get('/api/auth/sessions', { token: a.accessToken });
    expect(list.body.map((s: any) => s.id)).toEqual([decodeJwtPart(a.accessToken).sid]);
  });

  it('answers 404 NOT_FOUND for another user’s session and leaves it alone', async () => {
    const mallory = await registerAndLogin(api);
    const victim = await registerAndLogin(api);
    const sid = decodeJwtPart(victim.accessToken).sid as string;
    const res = await api.delete(`/api/auth/sessions/${sid}`, { token: mallory.accessToken });
    expectProblem(res, 404, 'NOT_FOUND');
    expect((await me(api, victim.accessToken)).status).toBe(200);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const u = await registerAndLogin(api);
    expectProblem(
      await api.delete(`/api/auth/sessions/${randomUUID()}`, { token: u.accessToken }),
      404,
      'NOT_FOUND',
    );
    expectProblem(
      await api.delete('/api/auth/sessions/not-a-uuid', { token: u.accessToken }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('answers 401 UNAUTHORIZED without a token', async () => {
    expectProblem(await api.get('/api/auth/sessions'), 401, 'UNAUTHORIZED');
    expectProblem(await api.delete(`/api/auth/sessions/${randomUUID()}`), 401, 'UNAUTHORIZED');
  });
});

/** The parameters of a PHC-format argon2id hash (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`). */
function argon2Params(hash: string): Record<string, string> {
  const [, alg, , params] = hash.split('$');
  expect(alg).toBe('argon2id');
  return Object.fromEntries(
    (params ?? '').split(',').map((kv) => kv.split('=') as [string, string]),
  );
}

describe('hashes waiting their turn (ARGON2_CONCURRENCY=1)', () => {
  it('answers every login of a burst, each with its own outcome', async () => {
    const queued = await startServer({ env: { ARGON2_CONCURRENCY: '1' } });
    try {
      const users = await Promise.all([1, 2, 3].map(() => register(queued.api)));
      const attempts = users.flatMap((u) => [
        { email: u.email, password: u.password, status: 200 },
        { email: u.email, password: `${u.password}-wrong`, status: 401 },
        { email: `nobody-${randomUUID()}@example.com`, password: u.password, status: 401 },
        { email: u.email, password: u.password, status: 200 },
      ]);
      const answers = await Promise.all(
        attempts.map((a) =>
          queued.api.post('/api/auth/login', { email: a.email, password: a.password }),
        ),
      );
      expect(answers.map((res) => res.status)).toEqual(attempts.map((a) => a.status));
      answers.forEach((res, i) => {
        if (res.status === 200) expect(res.body.user.email).toBe(attempts[i].email);
        else expectProblem(res, 401, 'INVALID_CREDENTIALS');
      });
    } finally {
      await queued.stop();
    }
  }, 60_000);
});

describe('password rehash', () => {
  it('rehashes a password with the current argon2 parameters at the next login', async () => {
    const database = await createTestDatabase();
    try {
      const weak = await startServer({
        database,
        env: { ARGON2_MEMORY_COST: '8192', ARGON2_TIME_COST: '1' },
      });
      const { email, password } = await register(weak.api);
      const hashOf = async () => {
        const rows = await database.query<{ password_hash: string }>(
          'SELECT password_hash FROM users WHERE email = $1',
          [email],
        );
        expect(rows).toHaveLength(1);
        return rows[0].password_hash;
      };
      expect(argon2Params(await hashOf())).toMatchObject({ m: '8192', t: '1' });
      await weak.stop();

      const strong = await startServer({ database });
      await login(strong.api, email, password);
      expect(argon2Params(await hashOf())).toMatchObject({ m: '19456', t: '2', p: '1' });
      await login(strong.api, email, password);
      await strong.stop();
    } finally {
      await database.drop();
    }
  }, 120_000);
});

describe('responses', () => {
  // Last in the file: scans every response the tests above received.
  it('never contained a password hash, token hash or stack trace in this file', () => {
    const all = [main, grace, expiry].flatMap((s) => findLeaks(s.api));
    expect(all).toEqual([]);
  });
});
