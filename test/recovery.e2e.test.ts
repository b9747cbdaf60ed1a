// The Recovery table of API.md and the two verification routes of the Auth table, through
// HTTP, with every email received by a real SMTP server on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectUser } from './support/assertions.js';
import {
  login,
  register,
  registerAndLogin,
  strongPassword,
  uniqueEmail,
} from './support/fixtures.js';
import { type Api, describeResponse, expectProblem, findLeaks, sleep } from './support/http.js';
import { codeIn, linkIn, mailsFor, SUBJECT, waitForNth } from './support/mail.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

const APP_URL = 'https://app.example.test';

let smtp: SmtpSink;
let main: TestServer;
/**
 * RECOVERY_TOKEN_TTL=5s and EMAIL_VERIFICATION_TTL=5s: short enough to wait out, long enough
 * for the email and the code to get through on a loaded CI machine (2 s did not, once).
 */
let short: TestServer;
/** EMAIL_VERIFICATION=required. */
let required: TestServer;
let api: Api;
/** Every secret the tests saw, to prove that none of them reached a log line. */
const secrets = new Set<string>();

beforeAll(async () => {
  smtp = await startSmtpSink();
  const env = { SMTP_URL: smtp.url, APP_URL };
  [main, short, required] = await Promise.all([
    startServer({ env }),
    startServer({ env: { ...env, RECOVERY_TOKEN_TTL: '5s', EMAIL_VERIFICATION_TTL: '5s' } }),
    startServer({ env: { ...env, EMAIL_VERIFICATION: 'required' } }),
  ]);
  api = main.api;
});
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

const forgot = (a: Api, email: string) => a.post('/api/recovery/forgot-password', { email });
const verifyOtp = (a: Api, email: string, code: string) =>
  a.post('/api/recovery/verify-otp', { email, code });
const reset = (a: Api, token: string, newPassword = strongPassword()) =>
  a.post('/api/recovery/reset-password', { token, newPassword });

/** Requests a reset and answers the `n`-th reset email's link token and code. */
async function requestReset(a: Api, email: string, n = 1) {
  const res = await forgot(a, email);
  expect(res.status, describeResponse(res)).toBe(202);
  const mail = await waitForNth(smtp, email, SUBJECT.reset, n);
  const { token, link } = linkIn(mail, 'reset-password');
  const code = codeIn(mail);
  secrets.add(token).add(link);
  return { token, link, code, mail };
}

/** A code of six digits other than `code`. */
function wrongCode(code: string, salt = 1): string {
  return String((Number(code) + salt) % 1_000_000).padStart(6, '0');
}

describe('POST /api/recovery/forgot-password', () => {
  it('answers 202 { message } and sends one email with an APP_URL link and a 6-digit code', async () => {
    const { email } = await register(api);
    const res = await forgot(api, email);
    expect(res.status, describeResponse(res)).toBe(202);
    expect(Object.keys(res.body)).toEqual(['message']);
    expect(res.body.message).toBeTypeOf('string');

    const mail = await waitForNth(smtp, email, SUBJECT.reset);
    const { link, token } = linkIn(mail, 'reset-password');
    expect(link).toBe(`${APP_URL}/reset-password?token=${token}`);
    expect(token.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url
    expect(codeIn(mail)).toMatch(/^\d{6}$/);
    // HTML and plain text, both with the link and the code.
    expect(mail.html).toContain('/reset-password?token');
    expect(mail.html).toContain(codeIn(mail));
    await sleep(1_500);
    expect(mailsFor(smtp, email, SUBJECT.reset)).toHaveLength(1);
  });

  it('builds links from APP_URL, never from the Host header', async () => {
    const { email } = await register(api);
    const res = await api.post(
      '/api/recovery/forgot-password',
      { email },
      { headers: { host: 'evil.example.com', 'x-forwarded-host': 'evil.example.com' } },
    );
    expect(res.status).toBe(202);
    const mail = await waitForNth(smtp, email, SUBJECT.reset);
    expect(linkIn(mail, 'reset-password').link.startsWith(`${APP_URL}/`)).toBe(true);
    expect(mail.raw).not.toContain('evil.example.com');
  });

  it('answers unknown emails identically and sends them nothing', async () => {
    const { email } = await register(api);
    const unknown = uniqueEmail('nobody');
    const known = await forgot(api, email);
    const other = await forgot(api, unknown);
    expect(other.status).toBe(known.status);
    expect(other.text).toBe(known.text);
    const headers = (r: typeof known) =>
      [...r.headers].filter(([k]) => !['x-request-id', 'date'].includes(k));
    expect(headers(other)).toEqual(headers(known));
    await waitForNth(smtp, email, SUBJECT.reset);
    await sleep(1_500);
    expect(smtp.messages.filter((m) => m.to.includes(unknown))).toEqual([]);
  });

  // That unknown emails also take as long as known ones is measured by `npm run bench`
  // (forgot-password, known vs unknown emails, p50 ratio): timings belong in benchmarks.

  it('rejects a malformed email or an unknown property with 400', async () => {
    expectProblem(await forgot(api, 'not-an-email'), 400, 'VALIDATION_FAILED');
    const extra = await api.post('/api/recovery/forgot-password', {
      email: uniqueEmail(),
      role: 'ADMIN',
    });
    expectProblem(extra, 400, 'VALIDATION_FAILED');
    expectProblem(await api.post('/api/recovery/forgot-password', []), 400, 'VALIDATION_FAILED');
  });
});

describe('reset by link', () => {
  it('sets the password, revokes every session, verifies the email and says so by email', async () => {
    const user = await registerAndLogin(api);
    const second = await login(api, user.email, user.password);
    const { token } = await requestReset(api, user.email);
    const newPassword = strongPassword();

    const res = await reset(api, token, newPassword);
    expect(res.status, describeResponse(res)).toBe(204);
    expect(res.text).toBe('');

    for (const session of [user, second]) {
      expectProblem(await api.get('/api/auth/me', { token: session.accessToken }), 401);
      const refreshed = await api.post('/api/auth/refresh', {
        refresh_token: session.refreshToken,
      });
      expectProblem(refreshed, 401, 'INVALID_REFRESH_TOKEN');
    }
    expectProblem(
      await api.post('/api/auth/login', { email: user.email, password: user.password }),
      401,
      'INVALID_CREDENTIALS',
    );
    const fresh = await login(api, user.email, newPassword);
    expect(fresh.user.emailVerified).toBe(true);

    const changed = await waitForNth(smtp, user.email, SUBJECT.changed);
    expect(changed.text).toContain(APP_URL);
    expect(changed.html).not.toBe('');
  });

  it('works once', async () => {
    const { email } = await register(api);
    const { token } = await requestReset(api, email);
    expect((await reset(api, token)).status).toBe(204);
    expectProblem(await reset(api, token), 400, 'INVALID_OR_EXPIRED_TOKEN');
  });

  it('lets only one of two concurrent resets with one token through', async () => {
    const { email } = await register(api);
    const { token } = await requestReset(api, email);
    const results = await Promise.all([reset(api, token), reset(api, token), reset(api, token)]);
    expect(results.map((r) => r.status).sort()).toEqual([204, 400, 400]);
  });

  it('refuses a weak password with WEAK_PASSWORD and keeps the token usable', async () => {
    const { email } = await register(api);
    const { token } = await requestReset(api, email);
    const weak = await reset(api, token, 'short');
    const problem = expectProblem(weak, 400, 'WEAK_PASSWORD');
    expect(problem.detail).toMatch(/newPassword/);
    const local = email.split('@')[0];
    expectProblem(await reset(api, token, `${local}-and-more`), 400, 'WEAK_PASSWORD');
    expect((await reset(api, token)).status).toBe(204);
  });

  it('refuses unknown tokens and malformed bodies with 400', async () => {
    expectProblem(await reset(api, 'x'.repeat(43)), 400, 'INVALID_OR_EXPIRED_TOKEN');
    expectProblem(
      await api.post('/api/recovery/reset-password', { newPassword: strongPassword() }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api.post('/api/recovery/reset-password', { token: 1, newPassword: 2 }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api.post('/api/recovery/reset-password', {
        token: 'a'.repeat(10_000),
        newPassword: 'x',
      }),
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('reset by code', () => {
  it('trades the code for a reset_token that sets the password once', async () => {
    const { email, password } = await register(api);
    const { code } = await requestReset(api, email);
    const res = await verifyOtp(api, email, code);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['expires_in', 'reset_token']);
    expect(res.body.expires_in).toBe(900);
    expect(res.body.reset_token.length).toBeGreaterThanOrEqual(43);
    secrets.add(res.body.reset_token);

    const newPassword = strongPassword();
    expect((await reset(api, res.body.reset_token, newPassword)).status).toBe(204);
    await login(api, email, newPassword);
    expectProblem(
      await api.post('/api/auth/login', { email, password }),
      401,
      'INVALID_CREDENTIALS',
    );
    expectProblem(await reset(api, res.body.reset_token), 400, 'INVALID_OR_EXPIRED_TOKEN');
  });

  it('accepts a code once', async () => {
    const { email } = await register(api);
    const { code } = await requestReset(api, email);
    expect((await verifyOtp(api, email, code)).status).toBe(200);
    expectProblem(await verifyOtp(api, email, code), 400, 'INVALID_CODE');
  });

  it('answers INVALID_CODE for a wrong code, an unknown email and a malformed code', async () => {
    const { email } = await register(api);
    const { code } = await requestReset(api, email);
    expectProblem(await verifyOtp(api, email, wrongCode(code)), 400, 'INVALID_CODE');
    expectProblem(await verifyOtp(api, uniqueEmail('nobody'), code), 400, 'INVALID_CODE');
    expectProblem(await verifyOtp(api, email, '12ab56'), 400, 'VALIDATION_FAILED');
    expectProblem(await verifyOtp(api, email, '1234567'), 400, 'VALIDATION_FAILED');
    // Still usable: one wrong guess is far from the limit.
    expect((await verifyOtp(api, email, code)).status).toBe(200);
  });

  it(`counts exactly OTP_MAX_ATTEMPTS of 20 parallel wrong codes, then refuses even the right one`, async () => {
    const { email } = await register(api);
    const { code, token } = await requestReset(api, email);
    const guesses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => verifyOtp(api, email, wrongCode(code, i + 1))),
    );
    const codes = guesses.map((r) => expectProblem(r, 400).code);
    expect(codes.filter((c) => c === 'INVALID_CODE')).toHaveLength(5);
    expect(codes.filter((c) => c === 'TOO_MANY_ATTEMPTS')).toHaveLength(15);
    expectProblem(await verifyOtp(api, email, code), 400, 'TOO_MANY_ATTEMPTS');
    // The link is a separate 256-bit secret and is not affected.
    expect((await reset(api, token)).status).toBe(204);
  });

  it('starts counting afresh with a new request', async () => {
    const { email } = await register(api);
    const first = await requestReset(api, email);
    for (let i = 1; i <= 5; i++) await verifyOtp(api, email, wrongCode(first.code, i));
    expectProblem(await verifyOtp(api, email, first.code), 400, 'TOO_MANY_ATTEMPTS');
    const second = await requestReset(api, email, 2);
    expect((await verifyOtp(api, email, second.code)).status).toBe(200);
  });
});

describe('a new request invalidates the previous one', () => {
  it('kills the earlier link, code and reset_token', async () => {
    const { email } = await register(api);
    const first = await requestReset(api, email);
    const earlyReset = await verifyOtp(api, email, first.code);
    expect(earlyReset.status).toBe(200);
    const second = await requestReset(api, email, 2);
    expect(second.token).not.toBe(first.token);

    expectProblem(await reset(api, first.token), 400, 'INVALID_OR_EXPIRED_TOKEN');
    expectProblem(await reset(api, earlyReset.body.reset_token), 400, 'INVALID_OR_EXPIRED_TOKEN');
    if (second.code !== first.code) {
      expectProblem(await verifyOtp(api, email, first.code), 400, 'INVALID_CODE');
    }
    expect((await reset(api, second.token)).status).toBe(204);
  });
});

describe('expiry (RECOVERY_TOKEN_TTL=5s)', () => {
  it('refuses the link, the code and the reset_token after the TTL', async () => {
    const a = short.api;
    const { email } = await register(a);
    const first = await requestReset(a, email);
    const issued = await verifyOtp(a, email, first.code);
    expect(issued.status).toBe(200);
    expect(issued.body.expires_in).toBe(5);
    const second = await requestReset(a, email, 2);
    await sleep(5_500);
    expectProblem(await reset(a, second.token), 400, 'INVALID_OR_EXPIRED_TOKEN');
    expectProblem(await verifyOtp(a, email, second.code), 400, 'INVALID_CODE');
  });

  it('refuses an expired reset_token', async () => {
    const a = short.api;
    const { email } = await register(a);
    const { code } = await requestReset(a, email);
    const issued = await verifyOtp(a, email, code);
    expect(issued.status).toBe(200);
    await sleep(5_500);
    expectProblem(await reset(a, issued.body.reset_token), 400, 'INVALID_OR_EXPIRED_TOKEN');
  });

  it('refuses an expired verification link', async () => {
    const a = short.api;
    const { email } = await register(a);
    const { token } = linkIn(await waitForNth(smtp, email, SUBJECT.verify), 'verify-email');
    await sleep(5_500);
    expectProblem(
      await a.post('/api/auth/verify-email', { token }),
      400,
      'INVALID_OR_EXPIRED_TOKEN',
    );
  });
});

describe('email verification', () => {
  it('registration sends a link that verifies the email once', async () => {
    const { email } = await register(api);
    const mail = await waitForNth(smtp, email, SUBJECT.verify);
    const { link, token } = linkIn(mail, 'verify-email');
    secrets.add(token);
    expect(link).toBe(`${APP_URL}/verify-email?token=${token}`);
    expect(mail.html).toContain('/verify-email?token');

    const res = await api.post('/api/auth/verify-email', { token });
    expect(res.status, describeResponse(res)).toBe(200);
    expectUser(res.body);
    expect(res.body).toMatchObject({ email, emailVerified: true });
    expectProblem(
      await api.post('/api/auth/verify-email', { token }),
      400,
      'INVALID_OR_EXPIRED_TOKEN',
    );
  });

  it('refuses unknown tokens and malformed bodies', async () => {
    expectProblem(
      await api.post('/api/auth/verify-email', { token: 'nope' }),
      400,
      'INVALID_OR_EXPIRED_TOKEN',
    );
    expectProblem(await api.post('/api/auth/verify-email', {}), 400, 'VALIDATION_FAILED');
    expectProblem(
      await api.post('/api/auth/verify-email', { token: 'x', emailVerified: true }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('resend-verification sends a new link that replaces the previous one', async () => {
    const { email } = await register(api);
    const first = linkIn(await waitForNth(smtp, email, SUBJECT.verify), 'verify-email');
    const res = await api.post('/api/auth/resend-verification', { email });
    expect(res.status, describeResponse(res)).toBe(202);
    expect(Object.keys(res.body)).toEqual(['message']);
    const second = linkIn(await waitForNth(smtp, email, SUBJECT.verify, 2), 'verify-email');
    expectProblem(
      await api.post('/api/auth/verify-email', { token: first.token }),
      400,
      'INVALID_OR_EXPIRED_TOKEN',
    );
    expect((await api.post('/api/auth/verify-email', { token: second.token })).status).toBe(200);
  });

  it('resend-verification answers the same for unknown and verified emails, sending nothing', async () => {
    const { email } = await register(api);
    const { token } = linkIn(await waitForNth(smtp, email, SUBJECT.verify), 'verify-email');
    expect((await api.post('/api/auth/verify-email', { token })).status).toBe(200);
    const unknown = uniqueEmail('nobody');
    const pending = await register(api);

    const answers = await Promise.all(
      [email, unknown, pending.email].map((e) =>
        api.post('/api/auth/resend-verification', { email: e }),
      ),
    );
    for (const r of answers) expect([r.status, r.text]).toEqual([202, answers[0].text]);
    await waitForNth(smtp, pending.email, SUBJECT.verify, 2);
    await sleep(1_500);
    expect(mailsFor(smtp, email, SUBJECT.verify)).toHaveLength(1);
    expect(smtp.messages.filter((m) => m.to.includes(unknown))).toEqual([]);
    expectProblem(
      await api.post('/api/auth/resend-verification', { email: 'nope' }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('is optional by default: an unverified user logs in', async () => {
    const { email, password } = await register(api);
    const tokens = await login(api, email, password);
    expect(tokens.user.emailVerified).toBe(false);
  });

  it('EMAIL_VERIFICATION=required answers 403 EMAIL_NOT_VERIFIED until the link is used', async () => {
    const a = required.api;
    const { email, password } = await register(a);
    const refused = await a.post('/api/auth/login', { email, password });
    expectProblem(refused, 403, 'EMAIL_NOT_VERIFIED');
    // Only after a correct password.
    expectProblem(
      await a.post('/api/auth/login', { email, password: strongPassword() }),
      401,
      'INVALID_CREDENTIALS',
    );
    const { token } = linkIn(await waitForNth(smtp, email, SUBJECT.verify), 'verify-email');
    expect((await a.post('/api/auth/verify-email', { token })).status).toBe(200);
    const tokens = await login(a, email, password);
    expect(tokens.user.emailVerified).toBe(true);
  });

  it('EMAIL_VERIFICATION=required: a password reset proves the mailbox too', async () => {
    const a = required.api;
    const { email } = await register(a);
    const { token } = await requestReset(a, email);
    const newPassword = strongPassword();
    expect((await reset(a, token, newPassword)).status).toBe(204);
    await login(a, email, newPassword);
  });
});

describe('secrets stay secret', () => {
  it('no response leaks a hash or an internal, and no log line holds a token', () => {
    for (const server of [main, short, required]) {
      expect(findLeaks(server.api)).toEqual([]);
      const leaking = server.logs.filter((line) => [...secrets].some((s) => line.includes(s)));
      expect(leaking).toEqual([]);
    }
    expect(secrets.size).toBeGreaterThan(5);
  });
});
