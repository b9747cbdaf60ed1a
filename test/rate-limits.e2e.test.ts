// Abuse limits (issue 5, points 1 and 2): per-IP and per-account rate limits on the seven
// public routes that take credentials or send mail, the login backoff, TRUST_PROXY, and
// counters shared by two instances through Redis.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditEvents,
  eventsOfRequest,
  retryAfter,
  traced,
  untilNotLimited,
} from './support/audit.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { login, register, strongPassword, uniqueEmail } from './support/fixtures.js';
import { type ApiResponse, describeResponse, expectProblem, type Problem } from './support/http.js';
import { codeIn, SUBJECT, waitForNth } from './support/mail.js';
import {
  cleanup,
  makeDataDir,
  startProcess,
  startServer,
  tail,
  type TestServer,
  waitForExit,
} from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

const ADMIN_EMAIL = 'limits-admin@example.com';
const ADMIN_PASSWORD = 'limits admin passphrase 7761';
/** Like the rest of the suite, Redis is used when REDIS_URL says where it is (CI sets it). */
const REDIS_URL = process.env.REDIS_URL;

/** TRUST_PROXY=true; every route: 4 requests per IP and 2 per account per minute. */
let limits: TestServer;
let limitsAdmin: string;
/**
 * TRUST_PROXY and the backoff threshold at their defaults (false, 5), backoff delays of 2 s
 * doubling to 8 s, verify-email at 3 per IP, resend-verification at its defaults.
 */
let guarded: TestServer;
let guardedAdmin: string;
let smtp: SmtpSink;

const IP_LIMIT = 4;
const ACCOUNT_LIMIT = 2;

let ipCounter = 0;
/** A client address no other test uses (only believed by the TRUST_PROXY=true server). */
function nextIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 8) & 255}.${ipCounter & 255}.${1 + Math.floor(Math.random() * 250)}`;
}

beforeAll(async () => {
  smtp = await startSmtpSink();
  const admin = { ADMIN_EMAIL, ADMIN_PASSWORD };
  const low = Object.fromEntries(
    [
      'REGISTER',
      'LOGIN',
      'REFRESH',
      'FORGOT_PASSWORD',
      'VERIFY_OTP',
      'RESEND_VERIFICATION',
      'VERIFY_EMAIL',
    ].flatMap((route) => [
      [`RATE_LIMIT_${route}_IP`, `${IP_LIMIT}/1m`],
      [`RATE_LIMIT_${route}_ACCOUNT`, `${ACCOUNT_LIMIT}/1m`],
    ]),
  );
  delete low.RATE_LIMIT_REFRESH_ACCOUNT;
  delete low.RATE_LIMIT_VERIFY_EMAIL_ACCOUNT;
  [limits, guarded] = await Promise.all([
    startServer({ env: { ...admin, ...low, TRUST_PROXY: 'true', SMTP_URL: smtp.url } }),
    startServer({
      env: {
        ...admin,
        SMTP_URL: smtp.url,
        TRUST_PROXY: undefined,
        LOGIN_BACKOFF_THRESHOLD: undefined,
        LOGIN_BACKOFF_DELAY: '2s',
        LOGIN_BACKOFF_MAX_DELAY: '8s',
        RATE_LIMIT_VERIFY_EMAIL_IP: '3/1m',
        RATE_LIMIT_RESEND_VERIFICATION_IP: undefined,
        RATE_LIMIT_RESEND_VERIFICATION_ACCOUNT: undefined,
      },
    }),
  ]);
  limitsAdmin = (
    await login(limits.api, ADMIN_EMAIL, ADMIN_PASSWORD, { 'x-forwarded-for': nextIp() })
  ).accessToken;
  guardedAdmin = (await login(guarded.api, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
}, 120_000);
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

interface LimitedRoute {
  route: string;
  path: string;
  /** A body naming `email` (ignored by routes that name no account). */
  body: (email: string) => Record<string, unknown>;
  namesAccount: boolean;
}

const ROUTES: LimitedRoute[] = [
  {
    route: 'register',
    path: '/api/auth/register',
    body: (email) => ({ email, password: strongPassword() }),
    namesAccount: true,
  },
  {
    route: 'login',
    path: '/api/auth/login',
    body: (email) => ({ email, password: strongPassword() }),
    namesAccount: true,
  },
  {
    route: 'refresh',
    path: '/api/auth/refresh',
    body: () => ({ refresh_token: 'not-a-refresh-token-but-long-enough-to-look-like-one' }),
    namesAccount: false,
  },
  {
    route: 'forgotPassword',
    path: '/api/recovery/forgot-password',
    body: (email) => ({ email }),
    namesAccount: true,
  },
  {
    route: 'verifyOtp',
    path: '/api/recovery/verify-otp',
    body: (email) => ({ email, code: '000000' }),
    namesAccount: true,
  },
  {
    route: 'resendVerification',
    path: '/api/auth/resend-verification',
    body: (email) => ({ email }),
    namesAccount: true,
  },
  {
    route: 'verifyEmail',
    path: '/api/auth/verify-email',
    body: () => ({ token: 'not-a-verification-token' }),
    namesAccount: false,
  },
];

/** Checks a refusal: 429 problem+json RATE_LIMITED with Retry-After within the window. */
function expectRateLimited(res: ApiResponse, windowSeconds: number) {
  const problem = expectProblem(res, 429, 'RATE_LIMITED');
  const seconds = retryAfter(res);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(windowSeconds);
  return problem;
}

function expectNotLimited(res: ApiResponse) {
  expect(res.status, describeResponse(res)).not.toBe(429);
}

describe('rate limits per client IP', () => {
  it.each(ROUTES)(
    '$route: refuses the request after the limit from one IP, whatever account it names',
    async ({ route, path, body }) => {
      const api = limits.api;
      const ip = nextIp();
      const send = (from: string) =>
        api.post(path, body(uniqueEmail(route)), {
          headers: { 'x-forwarded-for': from, 'user-agent': `limits-test/${route}` },
        });
      for (let i = 0; i < IP_LIMIT; i++) expectNotLimited(await send(ip));
      const refused = await send(ip);
      const problem = expectRateLimited(refused, 60);
      // The key is the IP: another client is not affected.
      expectNotLimited(await send(nextIp()));

      const [event] = await eventsOfRequest(api, limitsAdmin, problem.requestId, {
        type: 'rate_limit.exceeded',
      });
      expect(event).toMatchObject({
        type: 'rate_limit.exceeded',
        userId: null,
        actorId: null,
        ip,
        userAgent: `limits-test/${route}`,
        metadata: { route, scope: 'ip', limit: IP_LIMIT, windowSeconds: 60 },
      });
      expect(event.metadata.retryAfterSeconds).toBe(retryAfter(refused));
    },
  );
});

describe('rate limits per account', () => {
  it.each(ROUTES.filter((r) => r.namesAccount))(
    '$route: refuses the request after the limit for one account, from whatever IP',
    async ({ route, path, body }) => {
      const api = limits.api;
      const email = uniqueEmail(route);
      const send = (address: string, from: string) =>
        api.post(path, body(address), { headers: { 'x-forwarded-for': from } });
      for (let i = 0; i < ACCOUNT_LIMIT; i++) expectNotLimited(await send(email, nextIp()));
      // Spelled differently, it is still the same account.
      const ip = nextIp();
      const refused = await send(`  ${email.toUpperCase()} `, ip);
      const problem = expectRateLimited(refused, 60);
      // The key is the account: another account from the same IP is not affected.
      expectNotLimited(await send(uniqueEmail(route), ip));

      const [event] = await eventsOfRequest(api, limitsAdmin, problem.requestId, {
        type: 'rate_limit.exceeded',
      });
      expect(event).toMatchObject({
        ip,
        metadata: {
          route,
          scope: 'account',
          limit: ACCOUNT_LIMIT,
          // The first registration made it an account's email; on the other routes no
          // account has it: then only a keyed hash of it is kept (issue 13, item 12).
          ...(route === 'register'
            ? { identifier: email.toLowerCase() }
            : { identifierHmac: expect.stringMatching(/^hmac-sha256:[0-9a-f]{32}$/) }),
        },
      });
      if (route !== 'register') expect(event.metadata).not.toHaveProperty('identifier');
    },
  );

  it('keys a login by username as that username, case-insensitively', async () => {
    const username = `u_${randomUUID().slice(0, 8)}`;
    const send = (name: string) =>
      limits.api.post(
        '/api/auth/login',
        { username: name, password: strongPassword() },
        { headers: { 'x-forwarded-for': nextIp() } },
      );
    for (let i = 0; i < ACCOUNT_LIMIT; i++) expectProblem(await send(username), 401);
    expectRateLimited(await send(username.toUpperCase()), 60);
  });

  it('writes one event per refused key and window, not one per refused request', async () => {
    const ip = nextIp();
    const send = () =>
      limits.api.post(
        '/api/recovery/forgot-password',
        { email: uniqueEmail('flood') },
        { headers: { 'x-forwarded-for': ip } },
      );
    for (let i = 0; i < IP_LIMIT; i++) expectNotLimited(await send());
    for (let i = 0; i < 5; i++) expectRateLimited(await send(), 60);
    const events = (
      await auditEvents(limits.api, limitsAdmin, { type: 'rate_limit.exceeded' })
    ).filter((event) => event.ip === ip);
    expect(events).toHaveLength(1);
  });
});

describe('TRUST_PROXY', () => {
  it('true: keys the forwarded client IP and records it on sessions and events', async () => {
    const api = limits.api;
    const { email, password } = await register(api);
    const ip = nextIp();
    const res = await api.post(
      '/api/auth/login',
      { email, password },
      { headers: { 'x-forwarded-for': ip } },
    );
    expect(res.status, describeResponse(res)).toBe(200);
    const sessions = await api.get('/api/auth/sessions', { token: res.body.access_token });
    expect(sessions.body.map((s: { ip: string }) => s.ip)).toEqual([ip]);
    const [event] = await auditEvents(api, limitsAdmin, {
      userId: res.body.user.id,
      type: 'user.login',
    });
    expect(event.ip).toBe(ip);
  });

  it('false: a spoofed X-Forwarded-For neither escapes nor resets an IP limit', async () => {
    const api = guarded.api;
    const send = (headers: Record<string, string>) =>
      api.post('/api/auth/verify-email', { token: `spoof-${randomUUID()}` }, { headers });
    for (let i = 1; i <= 3; i++) {
      expectNotLimited(await send({ 'x-forwarded-for': `198.51.100.${i}` }));
    }
    const refused = await send({ 'x-forwarded-for': '198.51.100.4' });
    const problem = expectRateLimited(refused, 60);
    expectRateLimited(await send({}), 60);
    expectRateLimited(await send({ 'x-forwarded-for': '203.0.113.77, 198.51.100.5' }), 60);
    // The refusal is recorded against the real peer, not the address the client claimed.
    const [event] = await eventsOfRequest(api, guardedAdmin, problem.requestId, {
      type: 'rate_limit.exceeded',
    });
    expect(event.ip).toBe('127.0.0.1');
  });

  it('false: a spoofed X-Forwarded-For neither escapes nor resets the login backoff', async () => {
    const { email } = await register(guarded.api);
    const attempt = (ip: string) =>
      guarded.api.post(
        '/api/auth/login',
        { email, password: strongPassword() },
        { headers: { 'x-forwarded-for': ip } },
      );
    for (let i = 1; i <= 5; i++) expectProblem(await attempt(`192.0.2.${i}`), 401);
    expectRateLimited(await attempt('192.0.2.6'), 2);
    expectRateLimited(await attempt('192.0.2.1'), 2);
  });
});

describe('default limits', () => {
  it('refuses the 6th resend-verification for one email within an hour (RATE_LIMIT_RESEND_VERIFICATION_ACCOUNT=5/1h)', async () => {
    const email = uniqueEmail('resend');
    const send = () => guarded.api.post('/api/auth/resend-verification', { email });
    for (let i = 0; i < 5; i++) expect((await send()).status).toBe(202);
    const refused = await send();
    expectRateLimited(refused, 3600);
    // The hour-long window, not the IP's 15 minutes.
    expect(retryAfter(refused)).toBeGreaterThan(900);
  });
});

describe('RATE_LIMIT_ENABLED=false and LOGIN_BACKOFF_ENABLED=false', () => {
  it('turn the limits and the backoff off, and nothing else', async () => {
    const off = await startServer({
      env: {
        RATE_LIMIT_ENABLED: 'false',
        LOGIN_BACKOFF_ENABLED: 'false',
        RATE_LIMIT_LOGIN_IP: '2/1m',
        RATE_LIMIT_LOGIN_ACCOUNT: '2/1m',
        LOGIN_BACKOFF_THRESHOLD: '2',
      },
    });
    try {
      const { email, password } = await register(off.api);
      for (let i = 0; i < 6; i++) {
        const wrong = await off.api.post('/api/auth/login', { email, password: `${password}-x` });
        expectProblem(wrong, 401, 'INVALID_CREDENTIALS');
      }
      expect((await login(off.api, email, password)).accessToken).toBeTruthy();
    } finally {
      await off.stop();
    }
  }, 60_000);
});

describe('login backoff', () => {
  const attempt = (
    email: string,
    password = strongPassword(),
    headers: Record<string, string> = {},
  ) => guarded.api.post('/api/auth/login', { email, password }, { headers });

  it('refuses attempts after 5 failures, for an existing and an unknown email alike', async () => {
    const { email, password } = await register(guarded.api);
    const ghost = uniqueEmail('ghost');
    const refusals: Partial<Problem>[] = [];
    for (const address of [email, ghost]) {
      for (let i = 0; i < 5; i++) expectProblem(await attempt(address), 401, 'INVALID_CREDENTIALS');
      const refused = await attempt(address);
      const body: Partial<Problem> = { ...expectRateLimited(refused, 2) };
      delete body.requestId;
      refusals.push(body);
    }
    // Nothing tells the two apart.
    expect(refusals[1]).toEqual(refusals[0]);
    // Even the right password is refused while the lock lasts.
    expectRateLimited(await attempt(email, password), 2);
  });

  it('checks exactly 5 of 20 parallel wrong passwords and refuses the other 15', async () => {
    const { email } = await register(guarded.api);
    const answers = await Promise.all(Array.from({ length: 20 }, () => attempt(email)));
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it('starts afresh after a correct password', async () => {
    const { email, password } = await register(guarded.api);
    for (let i = 0; i < 4; i++) expectProblem(await attempt(email), 401);
    expect((await attempt(email, password)).status).toBe(200);
    for (let i = 0; i < 5; i++) expectProblem(await attempt(email), 401);
    expectRateLimited(await attempt(email), 2);
  });

  it('locks for 2 s, then 4 s, then 8 s, at most 8 s, and starts afresh after a success', async () => {
    const { email, password, user } = await register(guarded.api);
    /** Fails one attempt (once the lock ends) and answers the lock it set, in seconds. */
    const fail = async (): Promise<number | undefined> => {
      const { requestId, headers } = traced();
      const res = await untilNotLimited(() => attempt(email, strongPassword(), headers));
      expectProblem(res, 401, 'INVALID_CREDENTIALS');
      const [event] = await eventsOfRequest(guarded.api, guardedAdmin, requestId, {
        userId: user.id,
        type: 'user.login_failed',
      });
      expect(event.metadata.reason).toBe('invalid_credentials');
      return event.metadata.lockedForSeconds as number | undefined;
    };
    const locks: (number | undefined)[] = [];
    for (let i = 0; i < 8; i++) locks.push(await fail());
    expect(locks).toEqual([undefined, undefined, undefined, undefined, 2, 4, 8, 8]);
    // Refused while locked, with the time left.
    expectRateLimited(await attempt(email, password), 8);

    const success = await untilNotLimited(() => attempt(email, password));
    expect(success.status, describeResponse(success)).toBe(200);
    const after: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++) after.push(await fail());
    expect(after).toEqual([undefined, undefined, undefined, undefined, 2]);
  }, 120_000);

  it('leaves password reset working for a locked account, and the reset lifts the lock', async () => {
    const { email } = await register(guarded.api);
    for (let i = 0; i < 5; i++) expectProblem(await attempt(email), 401);
    expectRateLimited(await attempt(email), 2);

    expect((await guarded.api.post('/api/recovery/forgot-password', { email })).status).toBe(202);
    const code = codeIn(await waitForNth(smtp, email, SUBJECT.reset));
    const otp = await guarded.api.post('/api/recovery/verify-otp', { email, code });
    expect(otp.status, describeResponse(otp)).toBe(200);
    const newPassword = strongPassword();
    const reset = await guarded.api.post('/api/recovery/reset-password', {
      token: otp.body.reset_token,
      newPassword,
    });
    expect(reset.status, describeResponse(reset)).toBe(204);
    // No waiting: the reset cleared the backoff.
    expect((await attempt(email, newPassword)).status).toBe(200);
  });
});

// Needs a Redis server: skipped when REDIS_URL is unset (a bare machine has none);
// .ci/run sets it, so CI always runs these.
describe.skipIf(!REDIS_URL)('counters shared through Redis', () => {
  const prefix = `authkit-test-${randomUUID()}:`;
  const otherPrefix = `authkit-test-${randomUUID()}:`;
  let redis: Redis;
  let shared: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  /** Same Redis, another deployment (another prefix). */
  let other: TestServer;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    shared = await createTestDatabase();
    const env = {
      REDIS_URL,
      RATE_LIMIT_KEY_PREFIX: prefix,
      RATE_LIMIT_FORGOT_PASSWORD_IP: '3/1m',
      RATE_LIMIT_RESEND_VERIFICATION_ACCOUNT: '2/1m',
      LOGIN_BACKOFF_THRESHOLD: undefined,
    };
    // One after the other: the second starts on migrations the first has applied.
    a = await startServer({ env, database: shared });
    [b, other] = await Promise.all([
      startServer({ env, database: shared }),
      startServer({ env: { ...env, RATE_LIMIT_KEY_PREFIX: otherPrefix } }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop(), other?.stop()]);
    await shared?.drop();
    for (const p of [prefix, otherPrefix]) {
      const keys = await redis.keys(`${p}*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it('refuses on one instance an IP whose limit was reached through the other', async () => {
    const forgot = (server: TestServer) =>
      server.api.post('/api/recovery/forgot-password', { email: uniqueEmail('shared') });
    expect((await forgot(a)).status).toBe(202);
    expect((await forgot(b)).status).toBe(202);
    expect((await forgot(a)).status).toBe(202);
    expectRateLimited(await forgot(b), 60);
    expectRateLimited(await forgot(a), 60);
    // Another deployment on the same Redis keeps its own counters.
    expect((await forgot(other)).status).toBe(202);
    // The counters are under the deployment's prefix.
    expect((await redis.keys(`${prefix}*forgotPassword:ip*`)).length).toBeGreaterThan(0);
  });

  it('refuses on one instance an account whose limit was reached through the other', async () => {
    const email = uniqueEmail('shared-account');
    const resend = (server: TestServer) =>
      server.api.post('/api/auth/resend-verification', { email });
    expect((await resend(a)).status).toBe(202);
    expect((await resend(b)).status).toBe(202);
    expectRateLimited(await resend(a), 60);
    expectRateLimited(await resend(b), 60);
  });

  it('shares the login backoff (in PostgreSQL) between the instances', async () => {
    const email = uniqueEmail('shared-backoff');
    const attempt = (server: TestServer) =>
      server.api.post('/api/auth/login', { email, password: strongPassword() });
    for (const server of [a, b, a, b, a]) expectProblem(await attempt(server), 401);
    expectRateLimited(await attempt(b), 60);
  });
});

describe('configuration', () => {
  it('refuses to start when REDIS_URL cannot be reached', async () => {
    const db = await createTestDatabase();
    const dataDir = makeDataDir();
    try {
      const proc = startProcess({
        DATABASE_URL: db.url,
        PORT: '0',
        NODE_ENV: 'test',
        DATA_DIR: dataDir,
        REDIS_URL: 'redis://127.0.0.1:1',
      });
      expect(await waitForExit(proc, 60_000)).toBe(1);
      // Polled, and over every line: stderr and the flushed stdout lines arrive in any order.
      await expect.poll(() => proc.logs.join('\n')).toContain('REDIS_URL: cannot reach Redis');
      expect(proc.logs.join('\n')).toContain('ECONNREFUSED');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await db.drop();
    }
  }, 90_000);

  it.each([
    ['RATE_LIMIT_LOGIN_IP', '30 per minute', 'RATE_LIMIT_LOGIN_IP must be "<requests>/<window>"'],
    ['RATE_LIMIT_REGISTER_ACCOUNT', '0/5m', 'RATE_LIMIT_REGISTER_ACCOUNT must be'],
    ['LOGIN_BACKOFF_DELAY', '1 minute', 'LOGIN_BACKOFF_DELAY must be a duration'],
    ['TRUST_PROXY', 'sometimes', 'TRUST_PROXY must be true, false, or a comma-separated list'],
    ['TRUST_PROXY', '10.0.0.0/33', 'TRUST_PROXY must be true, false, or a comma-separated list'],
  ])('stops start-up with one line naming %s=%s', async (name, value, message) => {
    const dataDir = makeDataDir();
    try {
      const proc = startProcess({ NODE_ENV: 'test', DATA_DIR: dataDir, [name]: value });
      expect(await waitForExit(proc)).toBe(1);
      await expect.poll(() => tail(proc.logs)).toContain(`Invalid configuration: ${message}`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('stops start-up when LOGIN_BACKOFF_MAX_DELAY is shorter than LOGIN_BACKOFF_DELAY', async () => {
    const dataDir = makeDataDir();
    try {
      const proc = startProcess({
        NODE_ENV: 'test',
        DATA_DIR: dataDir,
        LOGIN_BACKOFF_DELAY: '10m',
        LOGIN_BACKOFF_MAX_DELAY: '5m',
      });
      expect(await waitForExit(proc)).toBe(1);
      await expect
        .poll(() => tail(proc.logs))
        .toContain('LOGIN_BACKOFF_MAX_DELAY must not be shorter');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
