// MFA part A (issue 16): TOTP enrolment and confirmation, recovery codes, the two-step
// login (mfa_token + POST /api/auth/mfa/verify), the amr/aal claims, the admin reset and the
// verify rate limits, through HTTP against one server, with every email received by a real
// SMTP server on loopback. Codes are computed from the secret the way an authenticator app
// does (otpauth; RFC 6238: SHA1, 6 digits, 30 s).
//
// A code once accepted is refused afterwards, and the server may also refuse any step older
// than the last one it accepted, so every authenticator below hands out the codes of its
// successful verifications in increasing steps (`Authenticator.fresh()`), and no request
// depends on which side of a step boundary it lands.
import { randomBytes, randomUUID } from 'node:crypto';
import { Secret, TOTP, URI } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_FIELDS } from './support/assertions.js';
import { type AuditEvent, eventsOfRequest, retryAfter } from './support/audit.js';
import {
  type LoggedInUser,
  login,
  register,
  registerAndLogin,
  type RegisterInput,
  strongPassword,
} from './support/fixtures.js';
import {
  type Api,
  type ApiResponse,
  decodeJwtPart,
  describeResponse,
  expectProblem,
  findLeaks,
  sleep,
} from './support/http.js';
import { mailsFor, waitForNth } from './support/mail.js';
import {
  cleanup,
  RATE_LIMIT_VARS,
  RELAXED_LIMITS,
  startServer,
  type TestServer,
} from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';
import { Authenticator, PERIOD_MS, stepOf, wrongCodes } from './support/totp.js';

const ADMIN_EMAIL = 'mfa-admin@example.com';
const ADMIN_PASSWORD = 'mfa-bootstrap-passphrase';
const APP_URL = 'https://app.example.test';

/**
 * RATE_LIMIT_MFA_VERIFY_IP and _ACCOUNT of this server, per minute. TRUST_PROXY=true and
 * every other verify request comes from an IP of its own (`verify()`); no other test makes
 * more than 9 verify requests for one account.
 */
const IP_LIMIT = 8;
const ACCOUNT_LIMIT = 12;

const MFA_SUBJECT = {
  on: 'Two-step sign-in was turned on',
  off: 'Two-step sign-in was turned off',
  recoveryUsed: 'A recovery code was used',
} as const;

const RECOVERY_CODE_RE = /^[a-z2-7]{5}-[a-z2-7]{5}$/;
/** The UserDto: the documented User fields plus `mfaEnabled`. */
const USER_DTO_FIELDS = [...new Set([...USER_FIELDS, 'mfaEnabled'])].sort();
const NO_MFA = { methods: [], recoveryCodesRemaining: 0, passkeys: 0 };
const PASSWORD_CLAIMS = { amr: ['pwd'], aal: 1 };
const MFA_CLAIMS = { amr: ['pwd', 'otp', 'mfa'], aal: 2 };

/** Waits until the current step is at least `step`. */
async function untilStep(step: number): Promise<void> {
  while (stepOf(Date.now()) < step) await sleep(step * PERIOD_MS - Date.now() + 100);
}

/** Waits out the last 5 s of a step, so that a request sent now lands in the same step. */
async function awayFromStepEnd(): Promise<void> {
  const now = Date.now();
  const left = PERIOD_MS - (now % PERIOD_MS);
  if (left < 5_000) await sleep(left + 200);
}

let ipCounter = 0;
/** A client address no other request uses (believed with TRUST_PROXY=true). */
function nextIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 8) & 255}.${ipCounter & 255}.${1 + Math.floor(Math.random() * 250)}`;
}

let smtp: SmtpSink;
let server: TestServer;
let api: Api;
let adminToken: string;
let adminId: string;
/** Enrolled first of all: by the previous-step drift test, its confirm step is long past. */
let early: MfaUser;
/** What the tests saw, to prove where it does (not) appear. */
const totpSecrets = new Set<string>();
const recoveryCodes = new Set<string>();
const mfaTokens = new Set<string>();

beforeAll(async () => {
  smtp = await startSmtpSink();
  server = await startServer({
    env: {
      SMTP_URL: smtp.url,
      APP_URL,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      TRUST_PROXY: 'true',
      RATE_LIMIT_MFA_VERIFY_IP: `${IP_LIMIT}/1m`,
      RATE_LIMIT_MFA_VERIFY_ACCOUNT: `${ACCOUNT_LIMIT}/1m`,
    },
  });
  api = server.api;
  const admin = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD);
  adminToken = admin.accessToken;
  adminId = admin.user.id;
  early = await enrolledUser();
}, 120_000);
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

const me = (token: string) => api.get('/api/auth/me', { token });
const loginRequest = (email: string, password: string) =>
  api.post('/api/auth/login', { email, password });
const refresh = (refreshToken: string) =>
  api.post('/api/auth/refresh', { refresh_token: refreshToken });
const enrol = (token: string, password: string) =>
  api.post('/api/auth/mfa/totp', { password }, { token });
const confirm = (token: string, code: string) =>
  api.post('/api/auth/mfa/totp/confirm', { code }, { token });
const removeTotp = (token: string, body: Record<string, unknown>) =>
  api.delete('/api/auth/mfa/totp', { token, body });
const regenerate = (token: string, body: Record<string, unknown>) =>
  api.post('/api/auth/mfa/recovery-codes', body, { token });
const adminReset = (id: string, token = adminToken) =>
  api.delete(`/api/users/${id}/mfa`, { token });
/** POST /api/auth/mfa/verify from a client IP of its own unless `ip` is given. */
const verify = (body: Record<string, unknown>, ip = nextIp()) =>
  api.post('/api/auth/mfa/verify', body, { headers: { 'x-forwarded-for': ip } });

function claims(accessToken: string): { amr: unknown; aal: unknown } {
  const payload = decodeJwtPart(accessToken);
  return { amr: payload.amr, aal: payload.aal };
}

function expectUserDto(user: any, mfaEnabled: boolean): void {
  expect(user, 'user').toBeTypeOf('object');
  expect(Object.keys(user).sort()).toEqual(USER_DTO_FIELDS);
  expect(user.mfaEnabled).toBe(mfaEnabled);
}

/** Asserts the normal login token response (body transport) and answers its body. */
function expectTokens(res: ApiResponse, mfaEnabled: boolean): any {
  expect(res.status, describeResponse(res)).toBe(200);
  expect(Object.keys(res.body).sort()).toEqual([
    'access_token',
    'expires_in',
    'refresh_token',
    'token_type',
    'user',
  ]);
  expect(res.body.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(res.body.token_type).toBe('Bearer');
  expect(res.body.expires_in).toBe(900);
  expect(res.body.refresh_token).toBeTypeOf('string');
  expectUserDto(res.body.user, mfaEnabled);
  return res.body;
}

/** GET /api/auth/me: the UserDto plus `mfa`. */
async function expectMfaState(
  token: string,
  mfaEnabled: boolean,
  mfa: { methods: string[]; recoveryCodesRemaining: number; passkeys: number },
): Promise<void> {
  const res = await me(token);
  expect(res.status, describeResponse(res)).toBe(200);
  expect(Object.keys(res.body).sort()).toEqual([...USER_DTO_FIELDS, 'mfa'].sort());
  expect(res.body.mfaEnabled).toBe(mfaEnabled);
  expect(res.body.mfa).toEqual(mfa);
}

/** Asserts `{ recoveryCodes }` of 10 distinct well-formed codes and answers them. */
function expectRecoveryCodes(res: ApiResponse): string[] {
  expect(res.status, describeResponse(res)).toBe(200);
  expect(Object.keys(res.body)).toEqual(['recoveryCodes']);
  const codes = res.body.recoveryCodes as string[];
  expect(codes).toHaveLength(10);
  for (const code of codes) expect(code).toMatch(RECOVERY_CODE_RE);
  expect(new Set(codes).size).toBe(10);
  for (const code of codes) recoveryCodes.add(code);
  return codes;
}

/** The one audit event of `type` that the request answered by `res` wrote. */
async function eventOf(res: ApiResponse, type: string): Promise<AuditEvent> {
  const requestId = res.headers.get('x-request-id') ?? '';
  const events = await eventsOfRequest(api, adminToken, requestId, { type });
  expect(events, `${type} of ${describeResponse(res)}`).toHaveLength(1);
  return events[0];
}

/** Starts an enrolment (200 expected); the authenticator continues after `previous`. */
async function startEnrolment(
  u: { accessToken: string; password: string },
  previous?: Authenticator,
): Promise<{ res: ApiResponse; auth: Authenticator }> {
  const res = await enrol(u.accessToken, u.password);
  expect(res.status, describeResponse(res)).toBe(200);
  totpSecrets.add(res.body.secret);
  return { res, auth: new Authenticator(res.body.secret, previous?.lastStep) };
}

interface MfaUser extends LoggedInUser {
  auth: Authenticator;
  recoveryCodes: string[];
  /** The code the factor was confirmed with. */
  confirmCode: string;
}

/** A new user with a confirmed TOTP factor, and the session that enrolled it. */
async function enrolledUser(overrides: RegisterInput = {}): Promise<MfaUser> {
  const u = await registerAndLogin(api, overrides);
  const { auth } = await startEnrolment(u);
  const confirmCode = await auth.fresh();
  const codes = expectRecoveryCodes(await confirm(u.accessToken, confirmCode));
  return { ...u, auth, recoveryCodes: codes, confirmCode };
}

/** First step of a login with a factor: answers the mfa_token. */
async function mfaToken(u: { email: string; password: string }): Promise<string> {
  const res = await loginRequest(u.email, u.password);
  expect(res.status, describeResponse(res)).toBe(200);
  expect(res.body.mfa_required, describeResponse(res)).toBe(true);
  expect(res.body.mfa_token).toBeTypeOf('string');
  mfaTokens.add(res.body.mfa_token);
  return res.body.mfa_token;
}

describe('data: mfaEnabled and me.mfa', () => {
  it('a user without a factor: mfaEnabled false in every UserDto, no methods, amr pwd and aal 1', async () => {
    const u = await registerAndLogin(api);
    const first = expectTokens(await loginRequest(u.email, u.password), false);
    expect(claims(first.access_token)).toEqual(PASSWORD_CLAIMS);
    const refreshed = expectTokens(await refresh(first.refresh_token), false);
    expect(claims(refreshed.access_token)).toEqual(PASSWORD_CLAIMS);
    await expectMfaState(refreshed.access_token, false, NO_MFA);
    const byAdmin = await api.get(`/api/users/${u.user.id}`, { token: adminToken });
    expect(byAdmin.status, describeResponse(byAdmin)).toBe(200);
    expectUserDto(byAdmin.body, false);
  });

  it('GET /api/users?mfaEnabled=true|false (admin) filters on it', async () => {
    const tag = `Mfa${randomBytes(5).toString('hex')}`;
    const withFactor = await Promise.all([0, 1].map(() => enrolledUser({ lastName: tag })));
    const pending = await registerAndLogin(api, { lastName: tag });
    await startEnrolment(pending);
    const plain = await register(api, { lastName: tag });

    const list = async (query: string) => {
      const res = await api.get(`/api/users?search=${tag}&limit=100${query}`, {
        token: adminToken,
      });
      expect(res.status, describeResponse(res)).toBe(200);
      return res.body.items as { id: string; mfaEnabled: boolean }[];
    };
    const pairs = (items: { id: string; mfaEnabled: boolean }[]) =>
      items.map((item) => [item.id, item.mfaEnabled]).sort();

    expect(pairs(await list('&mfaEnabled=true'))).toEqual(
      withFactor.map((u) => [u.user.id, true]).sort(),
    );
    expect(pairs(await list('&mfaEnabled=false'))).toEqual(
      [
        [pending.user.id, false],
        [plain.user.id, false],
      ].sort(),
    );
    const all = await list('');
    expect(all).toHaveLength(4);
    for (const item of all)
      expectUserDto(
        item,
        withFactor.some((u) => u.user.id === item.id),
      );
    expectProblem(
      await api.get('/api/users?mfaEnabled=yes', { token: adminToken }),
      400,
      'VALIDATION_FAILED',
    );
    const byAdmin = await api.get(`/api/users/${withFactor[0].user.id}`, { token: adminToken });
    expect(byAdmin.status, describeResponse(byAdmin)).toBe(200);
    expectUserDto(byAdmin.body, true);
  }, 60_000);
});

describe('1. POST /api/auth/mfa/totp (enrol)', () => {
  it('answers a 160-bit base32 secret, an otpauth URL an authenticator app reads, and an SVG QR code', async () => {
    const u = await registerAndLogin(api);
    const res = await enrol(u.accessToken, u.password);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['otpauthUrl', 'qrSvg', 'secret']);
    const { secret, otpauthUrl, qrSvg } = res.body as Record<string, string>;
    totpSecrets.add(secret);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(Secret.fromBase32(secret).bytes).toHaveLength(20);

    expect(otpauthUrl.startsWith('otpauth://totp/'), otpauthUrl).toBe(true);
    expect(otpauthUrl).toContain(`secret=${secret}`);
    expect(otpauthUrl).toContain('issuer=');
    const app = URI.parse(otpauthUrl);
    expect(app).toBeInstanceOf(TOTP);
    const totp = app as TOTP;
    expect({
      algorithm: totp.algorithm,
      digits: totp.digits,
      period: totp.period,
      secret: totp.secret.base32,
    }).toEqual({ algorithm: 'SHA1', digits: 6, period: 30, secret });
    expect(totp.issuer).not.toBe('');

    expect(qrSvg.startsWith('<svg'), qrSvg.slice(0, 100)).toBe(true);
    expect(qrSvg).toContain('</svg>');

    const other = await startEnrolment(await registerAndLogin(api));
    expect(other.auth.secret).not.toBe(secret);
  });

  it('refuses a wrong password with 400 INVALID_CURRENT_PASSWORD and starts nothing', async () => {
    const u = await registerAndLogin(api);
    expectProblem(await enrol(u.accessToken, strongPassword()), 400, 'INVALID_CURRENT_PASSWORD');
    expectProblem(await confirm(u.accessToken, '123456'), 409, 'MFA_NOT_PENDING');
  });

  it('called again before confirmation: a new secret replaces the pending one', async () => {
    const u = await registerAndLogin(api);
    const first = await startEnrolment(u);
    const second = await startEnrolment(u);
    expect(second.auth.secret).not.toBe(first.auth.secret);
    expectProblem(await confirm(u.accessToken, first.auth.at().code), 400, 'INVALID_CODE');
    expectRecoveryCodes(await confirm(u.accessToken, await second.auth.fresh()));
  });

  it('with nothing confirmed yet, login still answers tokens with mfaEnabled false', async () => {
    const u = await registerAndLogin(api);
    await startEnrolment(u);
    const body = expectTokens(await loginRequest(u.email, u.password), false);
    expect(claims(body.access_token)).toEqual(PASSWORD_CLAIMS);
    await expectMfaState(body.access_token, false, NO_MFA);
  });

  it('answers 409 MFA_ALREADY_ENABLED once a factor is confirmed, and leaves it alone', async () => {
    const u = await enrolledUser();
    expectProblem(await enrol(u.accessToken, u.password), 409, 'MFA_ALREADY_ENABLED');
    const token = await mfaToken(u);
    expectTokens(await verify({ mfa_token: token, code: await u.auth.fresh() }), true);
  });

  it('the bearer routes answer 401 UNAUTHORIZED without an access token', async () => {
    const password = strongPassword();
    for (const res of [
      await api.post('/api/auth/mfa/totp', { password }),
      await api.post('/api/auth/mfa/totp/confirm', { code: '123456' }),
      await api.delete('/api/auth/mfa/totp', { body: { password, code: '123456' } }),
      await api.post('/api/auth/mfa/recovery-codes', { password, code: '123456' }),
    ]) {
      expectProblem(res, 401, 'UNAUTHORIZED');
    }
  });
});

describe('2. POST /api/auth/mfa/totp/confirm', () => {
  it('turns the factor on: 10 distinct recovery codes, mfa.enrolled, an email, and login asks for a second step', async () => {
    const u = await registerAndLogin(api);
    const { auth } = await startEnrolment(u);
    await expectMfaState(u.accessToken, false, NO_MFA);
    const res = await confirm(u.accessToken, await auth.fresh());
    expectRecoveryCodes(res);
    await expectMfaState(u.accessToken, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 10,
      passkeys: 0,
    });
    expect(await eventOf(res, 'mfa.enrolled')).toMatchObject({
      userId: u.user.id,
      actorId: u.user.id,
      metadata: { method: 'totp' },
    });
    await waitForNth(smtp, u.email, MFA_SUBJECT.on);
    await mfaToken(u);
  });

  it('answers 400 INVALID_CODE to a wrong code and keeps the factor pending', async () => {
    const u = await registerAndLogin(api);
    const { auth } = await startEnrolment(u);
    expectProblem(await confirm(u.accessToken, wrongCodes(auth, 1)[0]), 400, 'INVALID_CODE');
    await expectMfaState(u.accessToken, false, NO_MFA);
    expectTokens(await loginRequest(u.email, u.password), false);
    expectRecoveryCodes(await confirm(u.accessToken, await auth.fresh()));
  });

  it('answers 409 MFA_NOT_PENDING with nothing pending: never enrolled, or already confirmed', async () => {
    const plain = await registerAndLogin(api);
    expectProblem(await confirm(plain.accessToken, '123456'), 409, 'MFA_NOT_PENDING');
    const u = await enrolledUser();
    expectProblem(await confirm(u.accessToken, await u.auth.fresh()), 409, 'MFA_NOT_PENDING');
    await expectMfaState(u.accessToken, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 10,
      passkeys: 0,
    });
  });
});

describe('5. POST /api/auth/login with a confirmed factor', () => {
  it('answers mfa_required and an mfa_token instead of tokens, and sets no cookie', async () => {
    const u = await enrolledUser();
    const res = await loginRequest(u.email, u.password);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual([
      'expires_in',
      'methods',
      'mfa_required',
      'mfa_token',
    ]);
    expect(res.body).toMatchObject({
      mfa_required: true,
      expires_in: 300,
      methods: ['totp', 'recovery_code'],
    });
    expect(res.body.mfa_token).toBeTypeOf('string');
    expect(res.body.mfa_token.length).toBeGreaterThan(0);
    mfaTokens.add(res.body.mfa_token);
    expect(res.text).not.toMatch(/access_token|refresh_token/);
    expect(res.headers.getSetCookie()).toEqual([]);
    // It is neither an access token nor a refresh token.
    expectProblem(await me(res.body.mfa_token), 401, 'UNAUTHORIZED');
    expectProblem(await refresh(res.body.mfa_token), 401, 'INVALID_REFRESH_TOKEN');
    // Every login gets its own.
    expect(await mfaToken(u)).not.toBe(res.body.mfa_token);
  });

  it('answers a wrong password with the usual 401 INVALID_CREDENTIALS, saying nothing about factors', async () => {
    const u = await enrolledUser();
    const plain = await register(api);
    const strip = (res: ApiResponse) => {
      const { requestId, ...rest } = expectProblem(res, 401, 'INVALID_CREDENTIALS');
      expect(requestId).toBe(res.headers.get('x-request-id'));
      return rest;
    };
    const withFactor = await loginRequest(u.email, strongPassword());
    const without = await loginRequest(plain.email, strongPassword());
    expect(strip(withFactor)).toEqual(strip(without));
  });
});

describe('6. POST /api/auth/mfa/verify', () => {
  it('with a TOTP code: the normal token response, mfa.verified, and a session that works', async () => {
    const u = await enrolledUser();
    const res = await verify({ mfa_token: await mfaToken(u), code: await u.auth.fresh() });
    const body = expectTokens(res, true);
    expect(body.user.id).toBe(u.user.id);
    expect(await eventOf(res, 'mfa.verified')).toMatchObject({
      userId: u.user.id,
      metadata: { method: 'totp' },
    });
    await expectMfaState(body.access_token, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 10,
      passkeys: 0,
    });
    expectTokens(await refresh(body.refresh_token), true);
  });

  it('answers a wrong code with 400 INVALID_CODE and mfa.failed; the mfa_token stays usable', async () => {
    const u = await enrolledUser();
    const token = await mfaToken(u);
    const wrong = await verify({ mfa_token: token, code: wrongCodes(u.auth, 1)[0] });
    expectProblem(wrong, 400, 'INVALID_CODE');
    expect(await eventOf(wrong, 'mfa.failed')).toMatchObject({ userId: u.user.id });
    // Another user's recovery code is just as wrong.
    expectProblem(
      await verify({ mfa_token: token, recoveryCode: early.recoveryCodes[0] }),
      400,
      'INVALID_CODE',
    );
    expectTokens(await verify({ mfa_token: token, code: await u.auth.fresh() }), true);
  });

  it('answers the 5th wrong code with 400 TOO_MANY_ATTEMPTS, then the mfa_token is dead', async () => {
    const u = await enrolledUser();
    const token = await mfaToken(u);
    const wrong = wrongCodes(u.auth, 6);
    for (let i = 0; i < 4; i++) {
      expectProblem(await verify({ mfa_token: token, code: wrong[i] }), 400, 'INVALID_CODE');
    }
    expectProblem(await verify({ mfa_token: token, code: wrong[4] }), 400, 'TOO_MANY_ATTEMPTS');
    expectProblem(
      await verify({ mfa_token: token, code: await u.auth.fresh() }),
      401,
      'INVALID_MFA_TOKEN',
    );
    // The account is not locked: a new login works.
    expectTokens(
      await verify({ mfa_token: await mfaToken(u), recoveryCode: u.recoveryCodes[0] }),
      true,
    );
  });

  it('counts exactly 4 wrong codes of 8 sent in parallel before refusing', async () => {
    const u = await enrolledUser();
    const token = await mfaToken(u);
    const answers = await Promise.all(
      wrongCodes(u.auth, 8).map((code) => verify({ mfa_token: token, code })),
    );
    const outcomes = answers.map((r) => `${r.status} ${expectProblem(r, r.status).code}`);
    expect(outcomes.filter((o) => o === '400 INVALID_CODE')).toHaveLength(4);
    expect(outcomes).toContain('400 TOO_MANY_ATTEMPTS');
    for (const outcome of outcomes) {
      expect(['400 INVALID_CODE', '400 TOO_MANY_ATTEMPTS', '401 INVALID_MFA_TOKEN']).toContain(
        outcome,
      );
    }
    expectProblem(
      await verify({ mfa_token: token, code: await u.auth.fresh() }),
      401,
      'INVALID_MFA_TOKEN',
    );
  });

  it('refuses an unknown mfa_token, tokens of other kinds and a used one with 401 INVALID_MFA_TOKEN', async () => {
    const u = await enrolledUser();
    const other = await registerAndLogin(api);
    const [code, next] = u.recoveryCodes;
    for (const bogus of [
      randomBytes(32).toString('base64url'),
      other.accessToken,
      other.refreshToken,
    ]) {
      expectProblem(
        await verify({ mfa_token: bogus, recoveryCode: code }),
        401,
        'INVALID_MFA_TOKEN',
      );
    }
    const token = await mfaToken(u);
    expectTokens(await verify({ mfa_token: token, recoveryCode: code }), true);
    expectProblem(await verify({ mfa_token: token, recoveryCode: next }), 401, 'INVALID_MFA_TOKEN');
    // Refused attempts spent no code.
    expectTokens(await verify({ mfa_token: await mfaToken(u), recoveryCode: next }), true);
  });

  it('refuses a TOTP code already used to confirm or to log in (replay) with 400 INVALID_CODE', async () => {
    const u = await enrolledUser();
    const token = await mfaToken(u);
    expectProblem(await verify({ mfa_token: token, code: u.confirmCode }), 400, 'INVALID_CODE');
    const code = await u.auth.fresh();
    expectTokens(await verify({ mfa_token: token, code }), true);
    expectProblem(await verify({ mfa_token: await mfaToken(u), code }), 400, 'INVALID_CODE');
  });

  it('drift: accepts a code of the next step, refuses codes two or three steps away', async () => {
    const u = await enrolledUser();
    const token = await mfaToken(u);
    for (const offset of [-90_000, -60_000, 90_000]) {
      const { code } = u.auth.at(offset);
      expectProblem(await verify({ mfa_token: token, code }), 400, 'INVALID_CODE');
    }
    const { code, step } = u.auth.at(PERIOD_MS);
    expectTokens(await verify({ mfa_token: token, code }), true);
    u.auth.spend(step);
  });

  it('drift: accepts a code of the previous step', async () => {
    const token = await mfaToken(early);
    // That code must be of a later step than the one `early` confirmed with, and the request
    // must land in the step it was computed in.
    await untilStep(early.auth.lastStep + 2);
    await awayFromStepEnd();
    const { code, step } = early.auth.at(-PERIOD_MS);
    expectTokens(await verify({ mfa_token: token, code }), true);
    early.auth.spend(step);
  }, 120_000);

  it('a recovery code works once: recovery_code.used, mfa.verified, an email, one fewer left', async () => {
    const u = await enrolledUser();
    const [code, next] = u.recoveryCodes;
    const res = await verify({ mfa_token: await mfaToken(u), recoveryCode: code });
    const body = expectTokens(res, true);
    expect(await eventOf(res, 'recovery_code.used')).toMatchObject({ userId: u.user.id });
    expect(await eventOf(res, 'mfa.verified')).toMatchObject({
      userId: u.user.id,
      metadata: { method: 'recovery_code' },
    });
    await waitForNth(smtp, u.email, MFA_SUBJECT.recoveryUsed);
    await expectMfaState(body.access_token, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 9,
      passkeys: 0,
    });

    const token = await mfaToken(u);
    expectProblem(await verify({ mfa_token: token, recoveryCode: code }), 400, 'INVALID_CODE');
    expectTokens(await verify({ mfa_token: token, recoveryCode: next }), true);
    await expectMfaState(body.access_token, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 8,
      passkeys: 0,
    });
    await waitForNth(smtp, u.email, MFA_SUBJECT.recoveryUsed, 2);
    expect(mailsFor(smtp, u.email, MFA_SUBJECT.recoveryUsed)).toHaveLength(2);
  });

  it('answers 400 VALIDATION_FAILED to both code and recoveryCode, or neither', async () => {
    const u = await enrolledUser();
    const token = await mfaToken(u);
    for (const body of [
      { mfa_token: token, code: u.auth.at().code, recoveryCode: u.recoveryCodes[0] },
      { mfa_token: token },
    ]) {
      expectProblem(await verify(body), 400, 'VALIDATION_FAILED');
    }
  });
});

describe('7. access token claims', () => {
  it('after a TOTP verify: amr pwd, otp, mfa and aal 2, kept by the refresh of that session', async () => {
    const u = await enrolledUser();
    const body = expectTokens(
      await verify({ mfa_token: await mfaToken(u), code: await u.auth.fresh() }),
      true,
    );
    expect(claims(body.access_token)).toEqual(MFA_CLAIMS);
    const once = expectTokens(await refresh(body.refresh_token), true);
    expect(claims(once.access_token)).toEqual(MFA_CLAIMS);
    expect(decodeJwtPart(once.access_token).sid).toBe(decodeJwtPart(body.access_token).sid);
    const twice = expectTokens(await refresh(once.refresh_token), true);
    expect(claims(twice.access_token)).toEqual(MFA_CLAIMS);
  });

  it('after a recovery-code verify: the same amr and aal 2', async () => {
    const u = await enrolledUser();
    const body = expectTokens(
      await verify({ mfa_token: await mfaToken(u), recoveryCode: u.recoveryCodes[0] }),
      true,
    );
    expect(claims(body.access_token)).toEqual(MFA_CLAIMS);
    expect(claims(expectTokens(await refresh(body.refresh_token), true).access_token)).toEqual(
      MFA_CLAIMS,
    );
  });
});

describe('3. DELETE /api/auth/mfa/totp', () => {
  it('with the password and a code: turns the factor off, mfa.removed, an email, and login answers tokens', async () => {
    const u = await enrolledUser();
    const res = await removeTotp(u.accessToken, {
      password: u.password,
      code: await u.auth.fresh(),
    });
    expect(res.status, describeResponse(res)).toBe(204);
    expect(res.text).toBe('');
    expect(await eventOf(res, 'mfa.removed')).toMatchObject({
      userId: u.user.id,
      actorId: u.user.id,
    });
    await waitForNth(smtp, u.email, MFA_SUBJECT.off);
    const body = expectTokens(await loginRequest(u.email, u.password), false);
    expect(claims(body.access_token)).toEqual(PASSWORD_CLAIMS);
    await expectMfaState(body.access_token, false, NO_MFA);
  });

  it('with the password and a recovery code; the old recovery codes stay dead after a new enrolment', async () => {
    const u = await enrolledUser();
    const res = await removeTotp(u.accessToken, {
      password: u.password,
      recoveryCode: u.recoveryCodes[0],
    });
    expect(res.status, describeResponse(res)).toBe(204);
    const direct = expectTokens(await loginRequest(u.email, u.password), false);
    await expectMfaState(direct.access_token, false, NO_MFA);

    const session = { accessToken: direct.access_token as string, password: u.password };
    const { auth } = await startEnrolment(session, u.auth);
    const fresh = expectRecoveryCodes(await confirm(session.accessToken, await auth.fresh()));
    expect(fresh.filter((code) => u.recoveryCodes.includes(code))).toEqual([]);
    await expectMfaState(session.accessToken, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 10,
      passkeys: 0,
    });
    const token = await mfaToken(u);
    expectProblem(
      await verify({ mfa_token: token, recoveryCode: u.recoveryCodes[1] }),
      400,
      'INVALID_CODE',
    );
    expectTokens(await verify({ mfa_token: token, recoveryCode: fresh[0] }), true);
  });

  it('answers INVALID_CURRENT_PASSWORD, INVALID_CODE and MFA_NOT_ENABLED, removing nothing', async () => {
    const u = await enrolledUser();
    expectProblem(
      await removeTotp(u.accessToken, { password: strongPassword(), code: await u.auth.fresh() }),
      400,
      'INVALID_CURRENT_PASSWORD',
    );
    expectProblem(
      await removeTotp(u.accessToken, { password: u.password, code: wrongCodes(u.auth, 1)[0] }),
      400,
      'INVALID_CODE',
    );
    expectProblem(
      await removeTotp(u.accessToken, {
        password: u.password,
        recoveryCode: early.recoveryCodes[0],
      }),
      400,
      'INVALID_CODE',
    );
    await expectMfaState(u.accessToken, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 10,
      passkeys: 0,
    });
    await mfaToken(u);

    const plain = await registerAndLogin(api);
    expectProblem(
      await removeTotp(plain.accessToken, { password: plain.password, code: '123456' }),
      409,
      'MFA_NOT_ENABLED',
    );
  });
});

describe('4. POST /api/auth/mfa/recovery-codes', () => {
  it('answers 10 new codes; the old ones stop working, the new ones work', async () => {
    const u = await enrolledUser();
    expectTokens(
      await verify({ mfa_token: await mfaToken(u), recoveryCode: u.recoveryCodes[0] }),
      true,
    );
    await expectMfaState(u.accessToken, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 9,
      passkeys: 0,
    });

    const res = await regenerate(u.accessToken, {
      password: u.password,
      code: await u.auth.fresh(),
    });
    const codes = expectRecoveryCodes(res);
    expect(codes.filter((code) => u.recoveryCodes.includes(code))).toEqual([]);
    await expectMfaState(u.accessToken, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 10,
      passkeys: 0,
    });

    const token = await mfaToken(u);
    expectProblem(
      await verify({ mfa_token: token, recoveryCode: u.recoveryCodes[1] }),
      400,
      'INVALID_CODE',
    );
    expectTokens(await verify({ mfa_token: token, recoveryCode: codes[0] }), true);
    await expectMfaState(u.accessToken, true, {
      methods: ['totp'],
      recoveryCodesRemaining: 9,
      passkeys: 0,
    });
  });

  it('answers INVALID_CURRENT_PASSWORD, INVALID_CODE and MFA_NOT_ENABLED, replacing nothing', async () => {
    const u = await enrolledUser();
    expectProblem(
      await regenerate(u.accessToken, { password: strongPassword(), code: await u.auth.fresh() }),
      400,
      'INVALID_CURRENT_PASSWORD',
    );
    expectProblem(
      await regenerate(u.accessToken, { password: u.password, code: wrongCodes(u.auth, 1)[0] }),
      400,
      'INVALID_CODE',
    );
    const plain = await registerAndLogin(api);
    expectProblem(
      await regenerate(plain.accessToken, { password: plain.password, code: '123456' }),
      409,
      'MFA_NOT_ENABLED',
    );
    expectTokens(
      await verify({ mfa_token: await mfaToken(u), recoveryCode: u.recoveryCodes[0] }),
      true,
    );
  });
});

describe('8. DELETE /api/users/:id/mfa (admin)', () => {
  it('removes the factor and the recovery codes, ends every session of the user, and says so', async () => {
    const u = await enrolledUser();
    const second = expectTokens(
      await verify({ mfa_token: await mfaToken(u), recoveryCode: u.recoveryCodes[0] }),
      true,
    );
    const bystander = await registerAndLogin(api);

    const res = await adminReset(u.user.id);
    expect(res.status, describeResponse(res)).toBe(204);
    expect(res.text).toBe('');
    for (const [access, refreshToken] of [
      [u.accessToken, u.refreshToken],
      [second.access_token as string, second.refresh_token as string],
    ]) {
      expectProblem(await refresh(refreshToken), 401, 'INVALID_REFRESH_TOKEN');
      expectProblem(await me(access), 401, 'UNAUTHORIZED');
    }
    expect((await me(bystander.accessToken)).status).toBe(200);
    expect((await me(adminToken)).status).toBe(200);
    expect(await eventOf(res, 'mfa.removed')).toMatchObject({
      userId: u.user.id,
      actorId: adminId,
    });
    await waitForNth(smtp, u.email, MFA_SUBJECT.off);

    const direct = expectTokens(await loginRequest(u.email, u.password), false);
    await expectMfaState(direct.access_token, false, NO_MFA);
    const byAdmin = await api.get(`/api/users/${u.user.id}`, { token: adminToken });
    expect(byAdmin.status, describeResponse(byAdmin)).toBe(200);
    expectUserDto(byAdmin.body, false);
  });

  it('answers 403 to a non-admin, 409 MFA_NOT_ENABLED without a factor, 404 to an unknown id', async () => {
    const u = await enrolledUser();
    const plain = await registerAndLogin(api);
    expectProblem(await adminReset(u.user.id, plain.accessToken), 403, 'FORBIDDEN');
    expectProblem(await adminReset(u.user.id, u.accessToken), 403, 'FORBIDDEN');
    expectProblem(await api.delete(`/api/users/${u.user.id}/mfa`), 401, 'UNAUTHORIZED');
    await mfaToken(u);
    expectProblem(await adminReset(plain.user.id), 409, 'MFA_NOT_ENABLED');
    expectProblem(await adminReset(randomUUID()), 404, 'NOT_FOUND');
  });
});

describe('9. rate limits of POST /api/auth/mfa/verify', () => {
  it('RATE_LIMIT_MFA_VERIFY_IP and _ACCOUNT are configuration variables the harness relaxes', () => {
    for (const name of ['RATE_LIMIT_MFA_VERIFY_IP', 'RATE_LIMIT_MFA_VERIFY_ACCOUNT']) {
      expect(RATE_LIMIT_VARS).toContain(name);
      expect(RELAXED_LIMITS[name]).toBe('1000000/1m');
    }
  });

  it(`refuses the request after ${IP_LIMIT} from one IP, whatever token it carries`, async () => {
    const ip = nextIp();
    const send = (from: string) =>
      verify({ mfa_token: randomBytes(32).toString('base64url'), code: '123456' }, from);
    for (let i = 0; i < IP_LIMIT; i++) expectProblem(await send(ip), 401, 'INVALID_MFA_TOKEN');
    const refused = await send(ip);
    const problem = expectProblem(refused, 429, 'RATE_LIMITED');
    expect(retryAfter(refused)).toBeLessThanOrEqual(60);
    expectProblem(await send(nextIp()), 401, 'INVALID_MFA_TOKEN');
    const [event] = await eventsOfRequest(api, adminToken, problem.requestId, {
      type: 'rate_limit.exceeded',
    });
    expect(event).toMatchObject({
      ip,
      metadata: { scope: 'ip', limit: IP_LIMIT, windowSeconds: 60 },
    });
  });

  it(`refuses the request after ${ACCOUNT_LIMIT} for one account, from whatever IP and mfa_token`, async () => {
    const u = await enrolledUser();
    const other = await enrolledUser();
    const wrong = wrongCodes(u.auth, ACCOUNT_LIMIT);
    let token = '';
    for (let i = 0; i < ACCOUNT_LIMIT; i++) {
      if (i % 4 === 0) token = await mfaToken(u); // before its 5th wrong code kills it
      expectProblem(await verify({ mfa_token: token, code: wrong[i] }), 400, 'INVALID_CODE');
    }
    const ip = nextIp();
    const refused = await verify({ mfa_token: token, code: await u.auth.fresh() }, ip);
    const problem = expectProblem(refused, 429, 'RATE_LIMITED');
    expect(retryAfter(refused)).toBeLessThanOrEqual(60);
    // Another account from the same IP is not affected.
    expectTokens(
      await verify({ mfa_token: await mfaToken(other), code: await other.auth.fresh() }, ip),
      true,
    );
    const [event] = await eventsOfRequest(api, adminToken, problem.requestId, {
      type: 'rate_limit.exceeded',
    });
    expect(event).toMatchObject({
      ip,
      metadata: { scope: 'account', limit: ACCOUNT_LIMIT, windowSeconds: 60 },
    });
  }, 60_000);
});

describe('secrets stay secret', () => {
  // Last in the file: scans every response the tests above received.
  it('no response contained a password hash, a token hash or a stack trace in this file', () => {
    expect(findLeaks(api)).toEqual([]);
  });

  it('a TOTP secret is in its enrol response only, recovery codes only where issued, and none of them nor an mfa_token in a log line or an email', () => {
    expect(totpSecrets.size).toBeGreaterThan(20);
    expect(recoveryCodes.size).toBeGreaterThan(200);
    expect(mfaTokens.size).toBeGreaterThan(20);
    const answered = (r: { method: string; path: string; status: number }, path: string) =>
      r.method === 'POST' && r.path === path && r.status === 200;

    const leaks: string[] = [];
    for (const r of api.history) {
      const where = `${r.method} ${r.path} ${r.status}`;
      const upper = r.text.toUpperCase();
      if (!answered(r, '/api/auth/mfa/totp')) {
        for (const s of totpSecrets) if (upper.includes(s)) leaks.push(`${where}: TOTP secret`);
      }
      if (
        !answered(r, '/api/auth/mfa/totp/confirm') &&
        !answered(r, '/api/auth/mfa/recovery-codes')
      ) {
        for (const c of recoveryCodes)
          if (r.text.includes(c)) leaks.push(`${where}: recovery code ${c}`);
      }
    }
    expect(leaks).toEqual([]);
    // And each secret in exactly one response: the one that issued it.
    for (const s of totpSecrets) {
      expect(api.history.filter((r) => r.text.toUpperCase().includes(s))).toHaveLength(1);
    }

    const inLogs = server.logs.filter(
      (line) =>
        [...totpSecrets].some((s) => line.toUpperCase().includes(s)) ||
        [...recoveryCodes, ...mfaTokens].some((s) => line.includes(s)),
    );
    expect(inLogs).toEqual([]);
    const readable = (m: { subject: string; text: string; html: string }) =>
      `${m.subject}\n${m.text}\n${m.html}`;
    const inMails = smtp.messages
      .filter(
        (m) =>
          [...totpSecrets].some((s) => readable(m).toUpperCase().includes(s)) ||
          [...mfaTokens].some((s) => readable(m).includes(s)),
      )
      .map((m) => `${m.to.join(',')}: ${m.subject}`);
    expect(inMails).toEqual([]);
  });
});
