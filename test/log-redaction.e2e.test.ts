// Logs (issue 5, point 7): the real flows of the service run at LOG_LEVEL=trace/debug, on
// body and cookie transport, with an unexpected error in the middle; then every line the
// servers wrote (stdout and stderr, all of them) is scanned for every password, access,
// refresh, reset and verification token, XSRF value and one-time code this file used.
import { readdirSync, readFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieHeader, setCookie } from './support/cookies.js';
import { strongPassword, uniqueEmail, uniqueUsername } from './support/fixtures.js';
import {
  type Api,
  type ApiResponse,
  describeResponse,
  expectProblem,
  sleep,
} from './support/http.js';
import { codeIn, linkIn, SUBJECT, waitForNth } from './support/mail.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

let smtp: SmtpSink;
/** Body transport, LOG_LEVEL=trace, real SMTP. */
let main: TestServer;
/** Cookie transport, LOG_LEVEL=debug, real SMTP. */
let cookie: TestServer;
/** NODE_ENV=production without SMTP_URL: mail goes to files, whose links must not be logged. */
let fileMode: TestServer;

/** Every secret this file used or received; none may appear in any log line. */
const secrets = new Set<string>();
/** One-time codes: six digits, matched only as a whole number (timestamps are digits too). */
const codes = new Set<string>();

function keep(...values: (string | undefined)[]): void {
  for (const value of values) {
    if (!value) continue;
    secrets.add(value);
    // A JWT's header is the same for every token; its payload and signature are not.
    const parts = value.split('.');
    if (parts.length === 3)
      for (const part of parts.slice(1)) if (part.length > 20) secrets.add(part);
  }
}

beforeAll(async () => {
  smtp = await startSmtpSink();
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  [main, cookie, fileMode] = await Promise.all([
    startServer({ env: { SMTP_URL: smtp.url, LOG_LEVEL: 'trace' } }),
    startServer({
      env: { SMTP_URL: smtp.url, LOG_LEVEL: 'debug', REFRESH_TOKEN_TRANSPORT: 'cookie' },
    }),
    startServer({
      env: { NODE_ENV: 'production', JWT_PRIVATE_KEY: privateKey, LOG_LEVEL: 'trace' },
    }),
  ]);
});
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

function expectStatus(res: ApiResponse, status: number): ApiResponse {
  expect(res.status, describeResponse(res)).toBe(status);
  return res;
}

async function registerUser(api: Api) {
  const email = uniqueEmail('logs');
  const password = strongPassword();
  keep(password);
  expectStatus(
    await api.post('/api/auth/register', { email, password, username: uniqueUsername('lg') }),
    201,
  );
  return { email, password };
}

async function loginBody(api: Api, email: string, password: string) {
  const res = expectStatus(await api.post('/api/auth/login', { email, password }), 200);
  keep(res.body.access_token, res.body.refresh_token, `Bearer ${res.body.access_token}`);
  return { access: res.body.access_token as string, refresh: res.body.refresh_token as string };
}

describe('flows that handle secrets', () => {
  it('register, verify email, login, refresh, failing bearer calls, change password, logout (body transport)', async () => {
    const api = main.api;
    const { email, password } = await registerUser(api);
    const verify = linkIn(await waitForNth(smtp, email, SUBJECT.verify), 'verify-email');
    keep(verify.token, verify.link);
    expectStatus(await api.post('/api/auth/verify-email', { token: verify.token }), 200);

    const first = await loginBody(api, email, password);
    const refreshed = expectStatus(
      await api.post('/api/auth/refresh', { refresh_token: first.refresh }),
      200,
    );
    keep(refreshed.body.access_token, refreshed.body.refresh_token);
    const access = refreshed.body.access_token as string;

    // Failing requests that carry a bearer token.
    expectProblem(await api.get('/api/users', { token: access }), 403, 'FORBIDDEN');
    const tampered = `${access.slice(0, -6)}AAAAAA`;
    keep(tampered);
    expectProblem(await api.get('/api/auth/me', { token: tampered }), 401, 'UNAUTHORIZED');
    const bogus = `not-a-jwt-${randomBytes(12).toString('hex')}`;
    keep(bogus);
    expectProblem(await api.get('/api/auth/me', { token: bogus }), 401, 'UNAUTHORIZED');
    // Reuse of a rotated refresh token, and a wrong password.
    const wrong = `wrong-${strongPassword()}`;
    keep(wrong);
    expectProblem(await api.post('/api/auth/login', { email, password: wrong }), 401);
    // Malformed JSON holding a password.
    const inBrokenJson = `broken-${strongPassword()}`;
    keep(inBrokenJson);
    expectProblem(
      await api.post('/api/auth/login', undefined, {
        rawBody: `{"email":"${email}","password":"${inBrokenJson}"`,
        contentType: 'application/json',
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api.post('/api/auth/login', undefined, {
        rawBody: `{"email":"${email}","password": ${inBrokenJson}}`,
        contentType: 'application/json',
      }),
      400,
      'VALIDATION_FAILED',
    );

    const newPassword = strongPassword();
    keep(newPassword);
    expectStatus(
      await api.post(
        '/api/auth/change-password',
        { currentPassword: password, newPassword, confirmPassword: newPassword },
        { token: access },
      ),
      204,
    );
    const again = await loginBody(api, email, newPassword);
    expectStatus(await api.post('/api/auth/logout', { refresh_token: again.refresh }), 204);
    expectProblem(
      await api.post('/api/auth/refresh', { refresh_token: again.refresh }),
      401,
      'INVALID_REFRESH_TOKEN',
    );
  });

  it('forgot password, a wrong and a right OTP, reset by reset_token and by link (SMTP)', async () => {
    const api = main.api;
    const { email } = await registerUser(api);

    expectStatus(await api.post('/api/recovery/forgot-password', { email }), 202);
    const mail = await waitForNth(smtp, email, SUBJECT.reset);
    const byLink = linkIn(mail, 'reset-password');
    const code = codeIn(mail);
    keep(byLink.token, byLink.link);
    codes.add(code);
    const wrongCode = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    codes.add(wrongCode);
    expectProblem(
      await api.post('/api/recovery/verify-otp', { email, code: wrongCode }),
      400,
      'INVALID_CODE',
    );
    const otp = expectStatus(await api.post('/api/recovery/verify-otp', { email, code }), 200);
    keep(otp.body.reset_token);
    const reset = strongPassword();
    keep(reset);
    expectStatus(
      await api.post('/api/recovery/reset-password', {
        token: otp.body.reset_token,
        newPassword: reset,
      }),
      204,
    );

    expectStatus(await api.post('/api/recovery/forgot-password', { email }), 202);
    const second = await waitForNth(smtp, email, SUBJECT.reset, 2);
    const secondLink = linkIn(second, 'reset-password');
    keep(secondLink.token, secondLink.link);
    codes.add(codeIn(second));
    const viaLink = strongPassword();
    keep(viaLink);
    expectStatus(
      await api.post('/api/recovery/reset-password', {
        token: secondLink.token,
        newPassword: viaLink,
      }),
      204,
    );
    const last = await loginBody(api, email, viaLink);
    expectStatus(
      await api.delete('/api/users/me', { token: last.access, body: { password: viaLink } }),
      204,
    );
  });

  it('logs an unexpected error without the request body or the query parameters', async () => {
    const api = main.api;
    const email = uniqueEmail('unexpected');
    const password = strongPassword();
    keep(password);
    const before = main.logs.length;
    await main.db.query('ALTER TABLE users RENAME TO users_hidden');
    try {
      const res = await api.post('/api/auth/register', { email, password });
      expectProblem(res, 500, 'INTERNAL');
    } finally {
      await main.db.query('ALTER TABLE users_hidden RENAME TO users');
    }
    let errorLines: string[] = [];
    for (let i = 0; i < 50 && errorLines.length === 0; i += 1) {
      errorLines = main.logs.slice(before).filter((l) => l.includes('Unhandled error'));
      if (errorLines.length === 0) await sleep(100);
    }
    expect(errorLines.length).toBe(1);
    const line = JSON.parse(errorLines[0]) as { err: Record<string, unknown> };
    // Enough to debug: the type, the driver's message and the stack.
    expect(line.err.type).toBe('QueryFailedError');
    expect(String(line.err.message)).toMatch(/users/);
    expect(line.err.stack).toBeTypeOf('string');
    // Nothing else: no query, parameters, driver error or request.
    expect(Object.keys(line.err).sort()).toEqual(
      expect.arrayContaining(['message', 'stack', 'type']),
    );
    for (const field of ['parameters', 'query', 'driverError', 'body']) {
      expect(line.err, field).not.toHaveProperty(field);
    }
    expect(errorLines[0]).not.toContain(email);
  });

  it('login, refresh and logout in cookie transport (LOG_LEVEL=debug)', async () => {
    const api = cookie.api;
    const { email, password } = await registerUser(api);
    const login = expectStatus(await api.post('/api/auth/login', { email, password }), 200);
    let refresh = setCookie(login.headers, 'refresh_token').value;
    let xsrf = setCookie(login.headers, 'XSRF-TOKEN').value;
    keep(login.body.access_token, refresh, xsrf);
    const headers = () => ({
      cookie: cookieHeader({ refresh_token: refresh, 'XSRF-TOKEN': xsrf }),
      'x-xsrf-token': xsrf,
    });
    expectProblem(
      await api.post('/api/auth/refresh', undefined, {
        headers: { ...headers(), 'x-xsrf-token': `${xsrf}-forged` },
      }),
      403,
      'FORBIDDEN',
    );
    keep(`${xsrf}-forged`);
    const rotated = expectStatus(
      await api.post('/api/auth/refresh', undefined, { headers: headers() }),
      200,
    );
    refresh = setCookie(rotated.headers, 'refresh_token').value;
    xsrf = setCookie(rotated.headers, 'XSRF-TOKEN').value;
    keep(rotated.body.access_token, refresh, xsrf);
    expectStatus(await api.post('/api/auth/logout', undefined, { headers: headers() }), 204);
  });

  it('register and recovery with mail in files (production): links and codes stay out of the log', async () => {
    const api = fileMode.api;
    const { email, password } = await registerUser(api);
    expectStatus(await api.post('/api/recovery/forgot-password', { email }), 202);
    const mails = await mailFiles(fileMode.dataDir, 2);
    const verify = mails.find((m) => m.subject === SUBJECT.verify)!;
    const reset = mails.find((m) => m.subject === SUBJECT.reset)!;
    const verifyLink = linkIn(verify, 'verify-email');
    const resetLink = linkIn(reset, 'reset-password');
    keep(verifyLink.token, verifyLink.link, resetLink.token, resetLink.link);
    const code = codeIn(reset);
    codes.add(code);
    const otp = expectStatus(await api.post('/api/recovery/verify-otp', { email, code }), 200);
    keep(otp.body.reset_token);
    const newPassword = strongPassword();
    keep(newPassword);
    expectStatus(
      await api.post('/api/recovery/reset-password', { token: otp.body.reset_token, newPassword }),
      204,
    );
    await loginBody(api, email, newPassword);
    expect(password).not.toBe(newPassword);
    // The mails were written, and the log says where.
    expect(
      fileMode.logs.filter((l) => l.includes('Mail written to')).length,
    ).toBeGreaterThanOrEqual(2);
  });
});

/** Waits for `count` .eml files under DATA_DIR/mail and parses them. */
async function mailFiles(dataDir: string, count: number) {
  const dir = join(dataDir, 'mail');
  for (let i = 0; i < 150; i += 1) {
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    } catch {
      // Not created yet.
    }
    if (files.length >= count) {
      return Promise.all(
        files.map(async (f) => {
          const parsed = await simpleParser(readFileSync(join(dir, f)));
          return { subject: parsed.subject ?? '', text: parsed.text ?? '' };
        }),
      );
    }
    await sleep(100);
  }
  throw new Error(`fewer than ${count} mail files in ${dir}`);
}

describe('the logs of this file', () => {
  // Last in the file: every flow above has run and every line has been captured.
  it('were written (a line per request, at trace/debug level) and hold none of the secrets', async () => {
    await Promise.all([main.stop(), cookie.stop(), fileMode.stop()]);
    const servers = { main, cookie, fileMode };
    for (const [name, server] of Object.entries(servers)) {
      const requests = server.logs.filter((l) => l.includes('"request completed"'));
      expect(requests.length, name).toBeGreaterThanOrEqual(5);
    }
    expect(secrets.size).toBeGreaterThan(40);
    expect(codes.size).toBeGreaterThanOrEqual(3);

    const leaks: string[] = [];
    for (const [name, server] of Object.entries(servers)) {
      server.logs.forEach((line, index) => {
        for (const secret of secrets) {
          if (line.includes(secret)) leaks.push(`${name}#${index} holds ${secret}: ${line}`);
        }
        for (const code of codes) {
          if (new RegExp(`(?<!\\d)${code}(?!\\d)`).test(line)) {
            leaks.push(`${name}#${index} holds the code ${code}: ${line}`);
          }
        }
        if (/\$argon2/.test(line)) leaks.push(`${name}#${index} holds a password hash: ${line}`);
      });
    }
    expect(leaks).toEqual([]);
  });
});
