// Identifiers and password text (issue 13, items 1, 7, 8, 9 and 10, and the class "one
// identifier normalizer"): every spelling of one address is one account for the DTOs, the
// per-account rate limits, the login backoff, the recovery counters and the database;
// what is no address is a 400 problem, never a 500; the password policy sees through
// padding, invisible and fullwidth characters; passwords are compared after NFC.
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, eventsOfRequest, traced } from './support/audit.js';
import { login, register, strongPassword, uniqueUsername } from './support/fixtures.js';
import { type Api, type ApiResponse, describeResponse, expectProblem } from './support/http.js';
import { codeIn, SUBJECT, waitForNth } from './support/mail.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

const ADMIN_EMAIL = 'identifiers-admin@example.com';
const ADMIN_PASSWORD = 'identifiers admin passphrase 5531';
const ACCOUNT_LIMIT = 2;
const OTP_MAX_ATTEMPTS = 3;
const CODES_PER_HOUR = 3;
const BACKOFF_THRESHOLD = 3;

let smtp: SmtpSink;
/** OTP_MAX_ATTEMPTS=3, RECOVERY_CODES_PER_HOUR=3, a backoff of 3 failures for 10 minutes. */
let main: TestServer;
/** Every per-account limit at 2 per minute (the IP limits stay relaxed). */
let limited: TestServer;
let api: Api;
let adminToken: string;

beforeAll(async () => {
  smtp = await startSmtpSink();
  const accountLimits = Object.fromEntries(
    ['REGISTER', 'LOGIN', 'FORGOT_PASSWORD', 'VERIFY_OTP', 'RESEND_VERIFICATION'].map((r) => [
      `RATE_LIMIT_${r}_ACCOUNT`,
      `${ACCOUNT_LIMIT}/1m`,
    ]),
  );
  [main, limited] = await Promise.all([
    startServer({
      env: {
        SMTP_URL: smtp.url,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        OTP_MAX_ATTEMPTS: String(OTP_MAX_ATTEMPTS),
        RECOVERY_CODES_PER_HOUR: String(CODES_PER_HOUR),
        LOGIN_BACKOFF_THRESHOLD: String(BACKOFF_THRESHOLD),
        LOGIN_BACKOFF_DELAY: '10m',
      },
    }),
    startServer({ env: { SMTP_URL: smtp.url, ...accountLimits } }),
  ]);
  api = main.api;
  adminToken = (await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
});
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

/** A fresh address with a letter NFC and NFD spell differently (é). */
function accentedEmail(prefix: string): string {
  return `zoé-${prefix}-${randomBytes(5).toString('hex')}@example.com`;
}
const fullwidth = (text: string) =>
  text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

/** Spellings of `email` that are `email` (the class test's table of tricky inputs). */
function variants(email: string): [string, string][] {
  return [
    ['330 spaces of padding', `${' '.repeat(330)}${email}`],
    ['upper case', email.toUpperCase()],
    ['NFD', email.normalize('NFD')],
    ['fullwidth', fullwidth(email)],
    ['tabs around', `\t${email}\t`],
    ['NBSP around', `\u00a0${email}\u00a0`],
    ['NFD, upper case and padding', `  ${email.normalize('NFD').toUpperCase()}\n`],
  ];
}

/** What is no address: each must be a 400 VALIDATION_FAILED problem on every route. */
const NOT_AN_EMAIL: [string, string][] = [
  ['a lone surrogate', 'a\ud800@example.com'],
  ['CR/LF inside', 'ada\r\n@example.com'],
  ['U+0001', 'ada\u0001@example.com'],
  ['a tab inside', 'ad\ta@example.com'],
  ['a zero-width space', 'ada\u200b@example.com'],
  ['a bidi override', 'ada\u202e@example.com'],
  ['a ligature', 'ﬁx@example.com'],
  ['a quoted local part', '"ada x"@example.com'],
];

const ROUTES: { route: string; path: string; body: (email: string) => object }[] = [
  {
    route: 'register',
    path: '/api/auth/register',
    body: (email) => ({ email, password: strongPassword() }),
  },
  {
    route: 'login',
    path: '/api/auth/login',
    body: (email) => ({ email, password: strongPassword() }),
  },
  { route: 'forgotPassword', path: '/api/recovery/forgot-password', body: (email) => ({ email }) },
  {
    route: 'verifyOtp',
    path: '/api/recovery/verify-otp',
    body: (email) => ({ email, code: '000000' }),
  },
  {
    route: 'resendVerification',
    path: '/api/auth/resend-verification',
    body: (email) => ({ email }),
  },
];

function expectNotLimited(res: ApiResponse, what: string): void {
  expect(res.status, `${what}: ${describeResponse(res)}`).not.toBe(429);
  expect(res.status, `${what}: ${describeResponse(res)}`).toBeLessThan(500);
}

describe('one account, however its address is spelled (the class test)', () => {
  it.each(ROUTES)(
    '$route: every spelling of an address meets the same per-account limit',
    async ({ path, body }) => {
      const email = accentedEmail('limit');
      for (let i = 0; i < ACCOUNT_LIMIT; i++) {
        expectNotLimited(await limited.api.post(path, body(email)), 'the address as is');
      }
      for (const [what, spelled] of variants(email)) {
        const res = await limited.api.post(path, body(spelled));
        expectProblem(res, 429, 'RATE_LIMITED');
        expect(res.status, what).toBe(429);
      }
      // Another address is not affected.
      expectNotLimited(await limited.api.post(path, body(accentedEmail('other'))), 'another');
    },
  );

  it('login by username: every spelling meets the same per-account limit', async () => {
    const username = uniqueUsername('lim');
    const send = (name: string) =>
      limited.api.post('/api/auth/login', { username: name, password: strongPassword() });
    for (let i = 0; i < ACCOUNT_LIMIT; i++) expectNotLimited(await send(username), 'as is');
    for (const spelled of [
      username.toUpperCase(),
      `${' '.repeat(330)}${username}`,
      fullwidth(username),
      `\u00a0${username}\t`,
    ]) {
      expectProblem(await send(spelled), 429, 'RATE_LIMITED');
    }
  });

  it('every spelling of an address meets the same login backoff', async () => {
    const email = accentedEmail('backoff');
    const { password } = await register(api, { email });
    const all = variants(email);
    for (const [what, spelled] of all.slice(0, BACKOFF_THRESHOLD)) {
      const res = await api.post('/api/auth/login', {
        email: spelled,
        password: 'wrong password 1',
      });
      expect(res.status, `${what}: ${describeResponse(res)}`).toBe(401);
    }
    for (const [what, spelled] of all) {
      const res = await api.post('/api/auth/login', { email: spelled, password });
      expect(res.status, `${what}: ${describeResponse(res)}`).toBe(429);
    }
  });

  it('every spelling of a username meets the same login backoff', async () => {
    const username = uniqueUsername('bo');
    const { password } = await register(api, { username });
    for (const spelled of [username.toUpperCase(), fullwidth(username), `\t${username}  `]) {
      const res = await api.post('/api/auth/login', { username: spelled, password: 'wrong one 1' });
      expect(res.status, describeResponse(res)).toBe(401);
    }
    expectProblem(await api.post('/api/auth/login', { username, password }), 429, 'RATE_LIMITED');
  });

  it('registers an address once, whatever its spelling, and logs in with any of them', async () => {
    const email = accentedEmail('once');
    const { password, user } = await register(api, { email: email.normalize('NFD') });
    expect(user.email).toBe(email.normalize('NFC'));
    for (const [what, spelled] of variants(email)) {
      const res = await api.post('/api/auth/register', {
        email: spelled,
        password: strongPassword(),
      });
      expect(res.status, `${what}: ${describeResponse(res)}`).toBe(409);
      expectProblem(res, 409, 'EMAIL_TAKEN');
    }
    for (const [what, spelled] of variants(email)) {
      const res = await api.post('/api/auth/login', { email: spelled, password });
      expect(res.status, `${what}: ${describeResponse(res)}`).toBe(200);
    }
  });
});

describe('what is no address is a 400 problem, on every route with an email', () => {
  const routes = [
    ...ROUTES.map(({ route, path, body }) => ({ route, method: 'POST', path, body })),
    {
      route: 'createUser (admin)',
      method: 'POST',
      path: '/api/users',
      body: (email: string) => ({ email, password: strongPassword() }),
    },
  ];

  it.each(routes)('$route', async ({ route, method, path, body }) => {
    for (const [what, email] of NOT_AN_EMAIL) {
      const res = await api.request(method, path, { body: body(email), token: adminToken });
      const problem = expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(
        problem.errors?.map((e) => e.field),
        `${route}, ${what}`,
      ).toEqual(['email']);
    }
  });

  it('updateUser (admin)', async () => {
    const { user } = await register(api);
    for (const [, email] of NOT_AN_EMAIL) {
      const res = await api.patch(`/api/users/${user.id}`, { email }, { token: adminToken });
      expectProblem(res, 400, 'VALIDATION_FAILED');
    }
  });

  it('refuses a username with control or invisible characters', async () => {
    for (const username of ['ada\u200b', 'ad\ta', 'ada\ud800', '\u202eada']) {
      expectProblem(
        await api.post('/api/auth/register', {
          email: accentedEmail('u'),
          password: strongPassword(),
          username,
        }),
        400,
        'VALIDATION_FAILED',
      );
      expectProblem(
        await api.post('/api/auth/login', { username, password: 'x' }),
        400,
        'VALIDATION_FAILED',
      );
    }
  });

  it('login: a null email or username is a 400, not a 500', async () => {
    for (const body of [
      { email: null, password: 'x' },
      { username: null, password: 'x' },
      { email: null, username: 'ada_l', password: 'x' },
      { email: 42, password: 'x' },
    ]) {
      expectProblem(await api.post('/api/auth/login', body), 400, 'VALIDATION_FAILED');
    }
  });
});

describe('recovery codes', () => {
  const forgot = (email: string, headers?: Record<string, string>) =>
    api.post('/api/recovery/forgot-password', { email }, { headers });
  const verify = (email: string, code: string) =>
    api.post('/api/recovery/verify-otp', { email, code });
  const otherCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
  const answersOf = async (email: string, code: string, n: number) => {
    const codes: string[] = [];
    for (let i = 0; i < n; i++) codes.push((await verify(email, code)).body.code as string);
    return codes;
  };

  it('an unknown email meets the same attempt counter and answers as a real one', async () => {
    const known = accentedEmail('known');
    const unknown = accentedEmail('unknown');
    await register(api, { email: known });
    const exhausted = [
      ...Array<string>(OTP_MAX_ATTEMPTS).fill('INVALID_CODE'),
      'TOO_MANY_ATTEMPTS',
      'TOO_MANY_ATTEMPTS',
    ];

    // Without a forgot-password: no code, the same answer for both, forever.
    const never = Array<string>(OTP_MAX_ATTEMPTS + 2).fill('INVALID_CODE');
    expect(await answersOf(known, '000000', OTP_MAX_ATTEMPTS + 2)).toEqual(never);
    expect(await answersOf(unknown, '000000', OTP_MAX_ATTEMPTS + 2)).toEqual(never);

    expect((await forgot(known)).status).toBe(202);
    expect((await forgot(unknown)).status).toBe(202);
    const code = codeIn(await waitForNth(smtp, known, SUBJECT.reset, 1));
    expect(await answersOf(known, otherCode(code), OTP_MAX_ATTEMPTS + 2)).toEqual(exhausted);
    expect(await answersOf(unknown, otherCode(code), OTP_MAX_ATTEMPTS + 2)).toEqual(exhausted);
    // Dead even with the right code.
    expectProblem(await verify(known, code), 400, 'TOO_MANY_ATTEMPTS');

    // A new request brings a fresh counter to both.
    expect((await forgot(known)).status).toBe(202);
    expect((await forgot(unknown)).status).toBe(202);
    const second = codeIn(await waitForNth(smtp, known, SUBJECT.reset, 2));
    expect(await answersOf(known, otherCode(second), 1)).toEqual(['INVALID_CODE']);
    expect(await answersOf(unknown, otherCode(second), 1)).toEqual(['INVALID_CODE']);
    expect((await verify(known.normalize('NFD').toUpperCase(), second)).status).toBe(200);
  });

  it(`sends one address at most ${CODES_PER_HOUR} codes an hour, however it is spelled`, async () => {
    const known = accentedEmail('capped');
    const unknown = accentedEmail('capped-unknown');
    const { user } = await register(api, { email: known });
    const spellings = [known, ...variants(known).map(([, spelled]) => spelled)];
    const capped: string[] = [];
    for (const [i, spelled] of spellings.entries()) {
      const { requestId, headers } = traced();
      const res = await forgot(spelled, headers);
      expect(res.status, describeResponse(res)).toBe(202);
      if (i >= CODES_PER_HOUR) capped.push(requestId);
    }
    // Exactly CODES_PER_HOUR reset emails were queued (whether or not already delivered).
    const [{ n }] = await main.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM mail_outbox WHERE recipient = $1 AND template = 'reset-password'`,
      [known],
    );
    expect(Number(n)).toBe(CODES_PER_HOUR);
    for (const requestId of capped) {
      const [event] = await eventsOfRequest(api, adminToken, requestId, {
        type: 'password.reset_requested',
      });
      expect(event.metadata).toMatchObject({ capped: true, perHour: CODES_PER_HOUR });
    }
    // The latest code sent stays the live one.
    const code = codeIn(await waitForNth(smtp, known, SUBJECT.reset, CODES_PER_HOUR));
    const traded = await verify(fullwidth(known), code);
    expect(traded.status, describeResponse(traded)).toBe(200);
    const events = await auditEvents(api, adminToken, {
      userId: user.id,
      type: 'password.reset_requested',
    });
    expect(events).toHaveLength(CODES_PER_HOUR);

    // An unknown address is capped the same way (nothing tells them apart).
    for (let i = 0; i <= CODES_PER_HOUR; i++) {
      const { requestId, headers } = traced();
      expect((await forgot(unknown, headers)).status).toBe(202);
      const [event] = await eventsOfRequest(api, adminToken, requestId, {
        type: 'password.reset_requested',
      });
      expect(event.metadata.capped ?? false).toBe(i >= CODES_PER_HOUR);
    }
  });
});

describe('password text', () => {
  it.each([
    ['trailing space', 'password1 '],
    ['zero-width space', 'password1\u200b'],
    ['fullwidth', 'ｐａｓｓｗｏｒｄ１'],
    ['word joiner and case', 'PassWord\u20601'],
  ])('refuses a common password spelled with a %s', async (_, password) => {
    const res = await api.post('/api/auth/register', { email: accentedEmail('weak'), password });
    expectProblem(res, 400, 'WEAK_PASSWORD');
  });

  it('refuses a password that contains the username or email in fullwidth', async () => {
    const username = uniqueUsername('fw');
    const email = accentedEmail('fwmail');
    const local = email.split('@')[0];
    for (const password of [
      `${fullwidth(username.toUpperCase())} and more words`,
      `my ${fullwidth(local)} pass phrase`,
    ]) {
      const res = await api.post('/api/auth/register', { email, username, password });
      expectProblem(res, 400, 'WEAK_PASSWORD');
    }
  });

  it('logs in with a password typed NFC or NFD, however it was typed at registration', async () => {
    const nfc = `Zoé ${randomBytes(6).toString('hex')} café crème`;
    for (const typed of [nfc, nfc.normalize('NFD')]) {
      const { email } = await register(api, { email: accentedEmail('pw'), password: typed });
      for (const again of [nfc, nfc.normalize('NFD')]) {
        const res = await api.post('/api/auth/login', { email, password: again });
        expect(res.status, describeResponse(res)).toBe(200);
      }
      const wrong = await api.post('/api/auth/login', { email, password: nfc.toUpperCase() });
      expect(wrong.status).toBe(401);
    }
  });

  it('accepts a password hashed raw before NFC typed the same way, and then rehashes it', async () => {
    const nfc = `Zoé ${randomBytes(6).toString('hex')} café crème`;
    const nfd = nfc.normalize('NFD');
    const { email, user } = await register(api, { email: accentedEmail('legacy') });
    await main.db.query(`UPDATE users SET password_hash = $2 WHERE id = $1`, [
      user.id,
      // The server's own parameters (OWASP defaults), so nothing else asks for a rehash.
      await argon2.hash(nfd, {
        type: argon2.argon2id,
        memoryCost: 19_456,
        timeCost: 2,
        parallelism: 1,
      }),
    ]);
    const loginWith = async (password: string) =>
      (await api.post('/api/auth/login', { email, password })).status;
    // Only the raw form matches such a hash: its NFC form is another password...
    expect(await loginWith(nfc)).toBe(401);
    expect(await loginWith(nfd)).toBe(200);
    // ...until that login rehashed it as NFC: now both forms are the one password.
    expect(await loginWith(nfc)).toBe(200);
    expect(await loginWith(nfd)).toBe(200);
    const [{ password_hash: hash }] = await main.db.query<{ password_hash: string }>(
      `SELECT password_hash FROM users WHERE id = $1`,
      [user.id],
    );
    expect(await argon2.verify(hash, nfc)).toBe(true);
  });
});
