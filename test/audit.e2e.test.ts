// The audit trail (issue 5, point 6) and the login-outcome metrics: every event type of
// API.md's Audit section produced by a real flow through HTTP, with subject, actor, client
// IP, user agent and request id; no secret in any event; GET /api/audit-events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, auditEvents, eventsOfRequest, traced } from './support/audit.js';
import { login, strongPassword, uniqueEmail, uniqueUsername } from './support/fixtures.js';
import {
  type ApiResponse,
  decodeJwtPart,
  describeResponse,
  expectProblem,
  UUID_RE,
} from './support/http.js';
import { codeIn, linkIn, SUBJECT, waitForNth } from './support/mail.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

const ADMIN_EMAIL = 'audit-admin@example.com';
const ADMIN_PASSWORD = 'audit admin passphrase 3319';
const USER_AGENT = 'audit-test/1.0 (+https://example.test)';
/** With TRUST_PROXY=loopback the client is the nearest address that is not a loopback proxy. */
const CLIENT_IP = '203.0.113.9';
const FORWARDED_FOR = `198.51.100.66, ${CLIENT_IP}`;

const ALL_TYPES = [
  'user.registered',
  'user.login',
  'user.login_failed',
  'user.logout',
  'session.refreshed',
  'session.reuse_detected',
  'password.changed',
  'password.reset_requested',
  'password.reset',
  'email.verified',
  'user.created',
  'user.updated',
  'user.deleted',
  'rate_limit.exceeded',
];

let smtp: SmtpSink;
let server: TestServer;
let adminToken: string;
let adminId: string;
/** Every password, token and code this file used: none may appear in any event. */
const secrets = new Set<string>();

beforeAll(async () => {
  smtp = await startSmtpSink();
  server = await startServer({
    env: {
      SMTP_URL: smtp.url,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      EMAIL_VERIFICATION: 'required',
      TRUST_PROXY: 'loopback',
      REFRESH_REUSE_GRACE: '1s',
      LOGIN_BACKOFF_THRESHOLD: undefined,
      RATE_LIMIT_LOGIN_ACCOUNT: '8/1m',
    },
  });
  const admin = await login(server.api, ADMIN_EMAIL, ADMIN_PASSWORD);
  adminToken = admin.accessToken;
  adminId = admin.user.id;
  secrets.add(ADMIN_PASSWORD).add(admin.accessToken).add(admin.refreshToken);
}, 120_000);
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

interface Traced {
  res: ApiResponse;
  requestId: string;
}

/** A request from "the client": its user agent, a forwarded IP and a fresh request id. */
async function call(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string } = {},
): Promise<Traced> {
  const { requestId, headers } = traced({
    'user-agent': USER_AGENT,
    'x-forwarded-for': FORWARDED_FOR,
  });
  const res = await server.api.request(method, path, { ...opts, headers });
  return { res, requestId };
}

/**
 * The one event of `type` that the request wrote, checked for the client's IP, user agent
 * and request id, and for `expected` (userId, actorId, metadata...).
 */
async function expectEvent(
  { requestId }: Traced,
  type: string,
  expected: Partial<AuditEvent> & { metadata?: Record<string, unknown> },
): Promise<AuditEvent> {
  const events = (await auditEvents(server.api, adminToken, { type })).filter(
    (event) => event.metadata.requestId === requestId,
  );
  expect(events, `${type} of request ${requestId}`).toHaveLength(1);
  const [event] = events;
  expect(event).toMatchObject({
    type,
    ip: CLIENT_IP,
    userAgent: USER_AGENT,
    ...expected,
    metadata: { requestId, ...expected.metadata },
  });
  expect(event.id).toMatch(UUID_RE);
  expect(Date.parse(event.createdAt)).not.toBeNaN();
  return event;
}

/** Registers and verifies an account (EMAIL_VERIFICATION=required): ready to log in. */
async function verifiedUser(username?: string) {
  const email = uniqueEmail('audit');
  const password = strongPassword();
  secrets.add(password);
  const registered = await call('POST', '/api/auth/register', {
    body: { email, password, ...(username ? { username } : {}) },
  });
  expect(registered.res.status, describeResponse(registered.res)).toBe(201);
  const { token, link } = linkIn(await waitForNth(smtp, email, SUBJECT.verify), 'verify-email');
  secrets.add(token).add(link);
  const verified = await call('POST', '/api/auth/verify-email', { body: { token } });
  expect(verified.res.status, describeResponse(verified.res)).toBe(200);
  return { id: registered.res.body.user.id as string, email, password, registered, verified };
}

async function logIn(email: string, password: string) {
  const traced = await call('POST', '/api/auth/login', { body: { email, password } });
  expect(traced.res.status, describeResponse(traced.res)).toBe(200);
  secrets.add(traced.res.body.access_token).add(traced.res.body.refresh_token);
  return {
    ...traced,
    accessToken: traced.res.body.access_token as string,
    refreshToken: traced.res.body.refresh_token as string,
  };
}

describe('events of self-service flows', () => {
  it('user.registered and email.verified', async () => {
    const user = await verifiedUser();
    const self = { userId: user.id, actorId: user.id };
    await expectEvent(user.registered, 'user.registered', self);
    await expectEvent(user.verified, 'email.verified', { ...self, metadata: { via: 'link' } });
  });

  it('user.login, and user.login_failed for a wrong password and an unverified email', async () => {
    const email = uniqueEmail('unverified');
    const password = strongPassword();
    secrets.add(password);
    const registered = await call('POST', '/api/auth/register', { body: { email, password } });
    const id = registered.res.body.user.id as string;
    const unverified = await call('POST', '/api/auth/login', { body: { email, password } });
    expectProblem(unverified.res, 403, 'EMAIL_NOT_VERIFIED');
    await expectEvent(unverified, 'user.login_failed', {
      userId: id,
      actorId: null,
      metadata: { reason: 'email_not_verified', identifier: email },
    });

    const user = await verifiedUser();
    const wrong = await call('POST', '/api/auth/login', {
      body: { email: user.email, password: strongPassword() },
    });
    expectProblem(wrong.res, 401, 'INVALID_CREDENTIALS');
    await expectEvent(wrong, 'user.login_failed', {
      userId: user.id,
      actorId: null,
      metadata: { reason: 'invalid_credentials', identifier: user.email, failures: 1 },
    });
    const ghost = uniqueEmail('ghost');
    const unknown = await call('POST', '/api/auth/login', {
      body: { email: ghost, password: strongPassword() },
    });
    // What matches no account may be anything (a password typed into the wrong field):
    // only a keyed hash of it is kept (issue 13, item 12).
    const [ghostEvent] = await eventsOfRequest(server.api, adminToken, unknown.requestId, {
      type: 'user.login_failed',
    });
    expect(ghostEvent).toMatchObject({
      userId: null,
      metadata: {
        reason: 'invalid_credentials',
        identifierHmac: expect.stringMatching(/^hmac-sha256:[0-9a-f]{32}$/),
      },
    });
    expect(JSON.stringify(ghostEvent)).not.toContain(ghost);

    const ok = await logIn(user.email, user.password);
    await expectEvent(ok, 'user.login', {
      userId: user.id,
      actorId: user.id,
      metadata: { sessionId: expect.stringMatching(UUID_RE), method: 'email' },
    });
  });

  it('session.refreshed, and session.reuse_detected after the grace window', async () => {
    const user = await verifiedUser();
    const session = await logIn(user.email, user.password);
    const sessionId = decodeJwtPart(session.accessToken).sid as string;
    const refreshed = await call('POST', '/api/auth/refresh', {
      body: { refresh_token: session.refreshToken },
    });
    expect(refreshed.res.status).toBe(200);
    secrets.add(refreshed.res.body.access_token).add(refreshed.res.body.refresh_token);
    await expectEvent(refreshed, 'session.refreshed', {
      userId: user.id,
      actorId: user.id,
      metadata: { sessionId },
    });
    // The rotated token again: the same successor within REFRESH_REUSE_GRACE (1 s), then
    // the whole session is revoked.
    let reused: Traced | undefined;
    const deadline = Date.now() + 30_000;
    while (!reused && Date.now() < deadline) {
      const again = await call('POST', '/api/auth/refresh', {
        body: { refresh_token: session.refreshToken },
      });
      if (again.res.status === 401) reused = again;
      else expect(again.res.status).toBe(200);
    }
    expect(reused, 'the rotated token was still accepted after 30 s').toBeDefined();
    await expectEvent(reused!, 'session.reuse_detected', {
      userId: user.id,
      actorId: null,
      metadata: { sessionId },
    });
  });

  it('password.changed and user.logout', async () => {
    const user = await verifiedUser();
    const other = await logIn(user.email, user.password);
    const current = await logIn(user.email, user.password);
    const newPassword = strongPassword();
    secrets.add(newPassword);
    const changed = await call('POST', '/api/auth/change-password', {
      token: current.accessToken,
      body: { currentPassword: user.password, newPassword, confirmPassword: newPassword },
    });
    expect(changed.res.status, describeResponse(changed.res)).toBe(204);
    await expectEvent(changed, 'password.changed', {
      userId: user.id,
      actorId: user.id,
      metadata: { revokedSessions: 1 },
    });
    expectProblem(await server.api.get('/api/auth/me', { token: other.accessToken }), 401);
    const loggedOut = await call('POST', '/api/auth/logout', {
      token: current.accessToken,
      body: { scope: 'global' },
    });
    expect(loggedOut.res.status).toBe(204);
    await expectEvent(loggedOut, 'user.logout', {
      userId: user.id,
      actorId: user.id,
      metadata: { scope: 'global', revokedSessions: 1 },
    });
  });

  it('password.reset_requested (for known and unknown emails) and password.reset', async () => {
    const user = await verifiedUser();
    const requested = await call('POST', '/api/recovery/forgot-password', {
      body: { email: user.email },
    });
    expect(requested.res.status).toBe(202);
    await expectEvent(requested, 'password.reset_requested', {
      userId: user.id,
      actorId: null,
      metadata: { email: user.email },
    });
    const ghost = uniqueEmail('ghost');
    const unknown = await call('POST', '/api/recovery/forgot-password', { body: { email: ghost } });
    await expectEvent(unknown, 'password.reset_requested', {
      userId: null,
      metadata: { email: ghost },
    });

    const mail = await waitForNth(smtp, user.email, SUBJECT.reset);
    const code = codeIn(mail);
    const { token, link } = linkIn(mail, 'reset-password');
    secrets.add(code).add(token).add(link);
    const otp = await call('POST', '/api/recovery/verify-otp', {
      body: { email: user.email, code },
    });
    expect(otp.res.status).toBe(200);
    secrets.add(otp.res.body.reset_token);
    const newPassword = strongPassword();
    secrets.add(newPassword);
    const reset = await call('POST', '/api/recovery/reset-password', {
      body: { token: otp.res.body.reset_token, newPassword },
    });
    expect(reset.res.status, describeResponse(reset.res)).toBe(204);
    await expectEvent(reset, 'password.reset', { userId: user.id, actorId: user.id });
  });

  it('user.updated and user.deleted by the user themselves', async () => {
    const user = await verifiedUser();
    const session = await logIn(user.email, user.password);
    const updated = await call('PATCH', '/api/users/me', {
      token: session.accessToken,
      body: { lastName: 'Lovelace' },
    });
    expect(updated.res.status).toBe(200);
    await expectEvent(updated, 'user.updated', {
      userId: user.id,
      actorId: user.id,
      metadata: { fields: ['lastName'], changes: { lastName: { from: null, to: 'Lovelace' } } },
    });
    const deleted = await call('DELETE', '/api/users/me', {
      token: session.accessToken,
      body: { password: user.password },
    });
    expect(deleted.res.status).toBe(204);
    await expectEvent(deleted, 'user.deleted', {
      userId: user.id,
      actorId: user.id,
      metadata: { email: user.email },
    });
  });
});

describe('events of admin actions (actor: the admin)', () => {
  it('user.created, user.updated (fields, never a password) and user.deleted', async () => {
    const email = uniqueEmail('managed');
    const password = strongPassword();
    secrets.add(password);
    const created = await call('POST', '/api/users', {
      token: adminToken,
      body: { email, password, emailVerified: true },
    });
    expect(created.res.status, describeResponse(created.res)).toBe(201);
    const id = created.res.body.id as string;
    await expectEvent(created, 'user.created', {
      userId: id,
      actorId: adminId,
      metadata: { email, role: 'USER', active: true },
    });

    const newPassword = strongPassword();
    secrets.add(newPassword);
    const updated = await call('PATCH', `/api/users/${id}`, {
      token: adminToken,
      body: { firstName: 'Ada', role: 'ADMIN', password: newPassword },
    });
    expect(updated.res.status, describeResponse(updated.res)).toBe(200);
    const event = await expectEvent(updated, 'user.updated', {
      userId: id,
      actorId: adminId,
      metadata: {
        fields: ['firstName', 'role', 'password'],
        changes: {
          firstName: { from: null, to: 'Ada' },
          role: { from: 'USER', to: 'ADMIN' },
        },
      },
    });
    expect(Object.keys(event.metadata.changes).sort()).toEqual(['firstName', 'role']);

    // Sending what is already there changes nothing, and records nothing.
    const unchanged = await call('PATCH', `/api/users/${id}`, {
      token: adminToken,
      body: { firstName: 'Ada' },
    });
    expect(unchanged.res.status).toBe(200);
    const noEvents = (await auditEvents(server.api, adminToken, { userId: id })).filter(
      (e) => e.metadata.requestId === unchanged.requestId,
    );
    expect(noEvents).toEqual([]);

    const deleted = await call('DELETE', `/api/users/${id}`, { token: adminToken });
    expect(deleted.res.status).toBe(204);
    await expectEvent(deleted, 'user.deleted', {
      userId: id,
      actorId: adminId,
      metadata: { email, role: 'ADMIN' },
    });
    // The trail of a deleted account stays.
    const trail = await auditEvents(server.api, adminToken, { userId: id });
    expect(trail.map((e) => e.type)).toEqual(['user.deleted', 'user.updated', 'user.created']);
  });

  it('user.created for the admin bootstrapped at start-up, with no actor', async () => {
    const events = await auditEvents(server.api, adminToken, {
      userId: adminId,
      type: 'user.created',
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actorId: null,
      ip: null,
      userAgent: null,
      metadata: { via: 'bootstrap', email: ADMIN_EMAIL, role: 'ADMIN', requestId: null },
    });
  });

  it('user.login_failed with account_disabled after a correct password', async () => {
    const user = await verifiedUser();
    const deactivated = await call('PATCH', `/api/users/${user.id}`, {
      token: adminToken,
      body: { active: false },
    });
    await expectEvent(deactivated, 'user.updated', {
      userId: user.id,
      actorId: adminId,
      metadata: { fields: ['active'], changes: { active: { from: true, to: false } } },
    });
    const refused = await call('POST', '/api/auth/login', {
      body: { email: user.email, password: user.password },
    });
    expectProblem(refused.res, 403, 'ACCOUNT_DISABLED');
    await expectEvent(refused, 'user.login_failed', {
      userId: user.id,
      actorId: null,
      metadata: { reason: 'account_disabled' },
    });
  });
});

describe('events of refusals', () => {
  it('user.login_failed with locked (backoff) and rate_limited, and rate_limit.exceeded', async () => {
    const username = uniqueUsername('locked');
    const user = await verifiedUser(username);
    const attempt = () =>
      call('POST', '/api/auth/login', { body: { username, password: strongPassword() } });
    for (let i = 1; i <= 5; i++) expectProblem((await attempt()).res, 401);
    const locked = await attempt();
    expectProblem(locked.res, 429, 'RATE_LIMITED');
    await expectEvent(locked, 'user.login_failed', {
      userId: user.id,
      actorId: null,
      metadata: { reason: 'locked', identifier: username },
    });
    // Refusals of the lock, then the per-account rate limit (8 per minute) takes over.
    expectProblem((await attempt()).res, 429);
    expectProblem((await attempt()).res, 429);
    const limited = await attempt();
    expectProblem(limited.res, 429, 'RATE_LIMITED');
    // The identifier is the account's, so the events name it and the account.
    await expectEvent(limited, 'rate_limit.exceeded', {
      userId: user.id,
      actorId: null,
      metadata: { route: 'login', scope: 'account', limit: 8, identifier: username },
    });
    await expectEvent(limited, 'user.login_failed', {
      userId: user.id,
      metadata: { reason: 'rate_limited', identifier: username },
    });
  });
});

// These two run after the flows above (a file's tests run in order) and check their sum.
describe('every event type', () => {
  it('has been produced by the flows above', async () => {
    const missing: string[] = [];
    for (const type of ALL_TYPES) {
      const res = await server.api.get(`/api/audit-events?type=${type}&limit=1`, {
        token: adminToken,
      });
      expect(res.status, describeResponse(res)).toBe(200);
      if (res.body.total === 0) missing.push(type);
    }
    expect(missing).toEqual([]);
  });

  it('holds no password, token, code or Authorization header', async () => {
    const events = await auditEvents(server.api, adminToken);
    expect(events.length).toBeGreaterThan(30);
    const text = JSON.stringify(events);
    const found = [...secrets].filter((secret) =>
      // Codes are 6 digits: only as a whole number, not inside an id.
      /^\d{6}$/.test(secret)
        ? new RegExp(`(?<![0-9A-Za-z])${secret}(?![0-9A-Za-z])`).test(text)
        : text.includes(secret),
    );
    expect(secrets.size).toBeGreaterThan(20);
    expect(found).toEqual([]);
    expect(text).not.toMatch(/bearer |authorization|\$argon2|password_?hash/i);
  });
});

describe('GET /api/audit-events', () => {
  let subject: { id: string; email: string; password: string };

  beforeAll(async () => {
    subject = await verifiedUser();
    for (let i = 0; i < 3; i++) await logIn(subject.email, subject.password);
  });

  it('filters by userId, by type, and by both', async () => {
    const mine = await auditEvents(server.api, adminToken, { userId: subject.id });
    expect(new Set(mine.map((e) => e.userId))).toEqual(new Set([subject.id]));
    expect(mine.map((e) => e.type).sort()).toEqual(
      ['email.verified', 'user.login', 'user.login', 'user.login', 'user.registered'].sort(),
    );
    const logins = await auditEvents(server.api, adminToken, { type: 'user.login' });
    expect(new Set(logins.map((e) => e.type))).toEqual(new Set(['user.login']));
    expect(logins.length).toBeGreaterThan(3);
    const both = await auditEvents(server.api, adminToken, {
      userId: subject.id,
      type: 'user.login',
    });
    expect(both).toHaveLength(3);
    expect(both).toEqual(mine.filter((e) => e.type === 'user.login'));
  });

  it('pages newest first with page and limit, and counts the total', async () => {
    const all = await auditEvents(server.api, adminToken, { userId: subject.id });
    const page = (n: number) =>
      server.api.get(`/api/audit-events?userId=${subject.id}&limit=2&page=${n}`, {
        token: adminToken,
      });
    const [one, two, three] = await Promise.all([page(1), page(2), page(3)]);
    for (const [res, n] of [
      [one, 1],
      [two, 2],
      [three, 3],
    ] as const) {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ total: all.length, page: n, limit: 2 });
      expect(Object.keys(res.body).sort()).toEqual(['items', 'limit', 'page', 'total']);
    }
    const paged = [...one.body.items, ...two.body.items, ...three.body.items];
    expect(paged).toEqual(all);
    const times = paged.map((e: AuditEvent) => Date.parse(e.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(Object.keys(paged[0]).sort()).toEqual(
      ['actorId', 'createdAt', 'id', 'ip', 'metadata', 'type', 'userAgent', 'userId'].sort(),
    );
    const defaults = await server.api.get('/api/audit-events', { token: adminToken });
    expect(defaults.body).toMatchObject({ page: 1, limit: 20 });
    expect(defaults.body.items).toHaveLength(20);
  });

  it.each([
    'userId=not-a-uuid',
    'type=user.hacked',
    'limit=0',
    'limit=101',
    'limit=ten',
    'page=0',
    'page=-1',
    'sort=createdAt',
  ])('answers 400 VALIDATION_FAILED to ?%s', async (query) => {
    const res = await server.api.get(`/api/audit-events?${query}`, { token: adminToken });
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it('answers 401 without a valid access token and 403 to a non-admin', async () => {
    expectProblem(await server.api.get('/api/audit-events'), 401, 'UNAUTHORIZED');
    expectProblem(
      await server.api.get('/api/audit-events', { token: 'not.a.token' }),
      401,
      'UNAUTHORIZED',
    );
    const session = await logIn(subject.email, subject.password);
    expectProblem(
      await server.api.get('/api/audit-events', { token: session.accessToken }),
      403,
      'FORBIDDEN',
    );
  });

  it('is documented in the OpenAPI document', async () => {
    const spec = (await server.api.get('/docs-json')).body;
    const op = spec.paths['/api/audit-events'].get;
    expect(op.operationId).toBe('listAuditEvents');
    expect(op.summary).toBeTruthy();
    expect(op.description).toBeTruthy();
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403']);
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['limit', 'page', 'type', 'userId'].sort(),
    );
  });
});

describe('login outcome metrics', () => {
  async function outcomes(): Promise<Record<string, number>> {
    const res = await server.api.get('/metrics');
    expect(res.status).toBe(200);
    const counts: Record<string, number> = {};
    for (const match of res.text.matchAll(
      /^auth_login_attempts_total\{outcome="(\w+)"\} (\d+)/gm,
    )) {
      counts[match[1]] = Number(match[2]);
    }
    return counts;
  }

  it('counts every outcome of POST /api/auth/login', async () => {
    const user = await verifiedUser();
    const disabled = await verifiedUser();
    await call('PATCH', `/api/users/${disabled.id}`, {
      token: adminToken,
      body: { active: false },
    });
    const unverifiedEmail = uniqueEmail('unverified');
    const unverifiedPassword = strongPassword();
    secrets.add(unverifiedPassword);
    await call('POST', '/api/auth/register', {
      body: { email: unverifiedEmail, password: unverifiedPassword },
    });

    const before = await outcomes();
    await logIn(user.email, user.password);
    const loginAs = (email: string, password: string) =>
      server.api.post('/api/auth/login', { email, password });
    expectProblem(await loginAs(disabled.email, disabled.password), 403, 'ACCOUNT_DISABLED');
    expectProblem(await loginAs(unverifiedEmail, unverifiedPassword), 403, 'EMAIL_NOT_VERIFIED');
    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < 5; i++) expectProblem(await loginAs(ghost, strongPassword()), 401);
    // Attempts 6 to 8 are refused by the backoff, the 9th by RATE_LIMIT_LOGIN_ACCOUNT=8/1m.
    for (let i = 0; i < 4; i++) {
      expectProblem(await loginAs(ghost, strongPassword()), 429, 'RATE_LIMITED');
    }
    const after = await outcomes();

    const delta = (outcome: string) => (after[outcome] ?? 0) - (before[outcome] ?? 0);
    expect({
      success: delta('success'),
      invalid_credentials: delta('invalid_credentials'),
      account_disabled: delta('account_disabled'),
      email_not_verified: delta('email_not_verified'),
      rate_limited: delta('rate_limited'),
    }).toEqual({
      success: 1,
      invalid_credentials: 5,
      account_disabled: 1,
      email_not_verified: 1,
      rate_limited: 4,
    });
  });
});
