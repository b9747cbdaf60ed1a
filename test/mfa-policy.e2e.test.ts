// MFA part B (issue 16 points 5 and 6): MFA_POLICY (`required`, `required-for-admins`) and
// step-up (REAUTH_MAX_AGE, POST /api/auth/reauthenticate), through HTTP against three
// servers: one per policy (REAUTH_MAX_AGE left at its 10m default, so a fresh login passes
// every step-up check there), and one with REAUTH_MAX_AGE=5s and the default policy, whose
// sessions are made stale by one sleep in its beforeAll and then used by its tests.
//
// TOTP codes are computed from the secret the way an authenticator app does (otpauth;
// RFC 6238: SHA1, 6 digits, 30 s), as in mfa.e2e.test.ts: a code once accepted is refused
// afterwards, and the server may refuse any step older than the last one it accepted, so
// every code handed to the server for acceptance comes from `Authenticator.fresh()`.
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTokenResponse } from './support/assertions.js';
import { type AuditEvent, eventsOfRequest, retryAfter } from './support/audit.js';
import {
  type LoggedInUser,
  login,
  registerAndLogin,
  strongPassword,
  type Tokens,
  uniqueEmail,
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
import {
  cleanup,
  type Env,
  makeDataDir,
  RATE_LIMIT_VARS,
  RELAXED_LIMITS,
  startProcess,
  startServer,
  tail,
  type TestServer,
  waitForExit,
} from './support/server.js';
import { Authenticator, wrongCodes } from './support/totp.js';

const ADMIN_EMAIL = 'mfa-policy-admin@example.com';
const ADMIN_PASSWORD = 'mfa-policy-bootstrap-passphrase';

/** REAUTH_MAX_AGE of the step-up server, and how long its beforeAll waits after the logins. */
// 5 s: a fresh session must get its protected request through within it on a loaded CI
// machine (a login hashes a password).
const REAUTH_MAX_AGE = '5s';
const STALE_AFTER_MS = 5_500;

/**
 * RATE_LIMIT_REAUTHENTICATE_IP and _ACCOUNT of the step-up server, per minute. TRUST_PROXY=true
 * and every reauthenticate request comes from an IP of its own unless a test says otherwise
 * (`reauthenticate()`); no other test sends more than 7 for one user.
 */
const REAUTH_IP_LIMIT = 6;
const REAUTH_ACCOUNT_LIMIT = 10;

/** `methods` of a REAUTH_REQUIRED problem. */
const PASSWORD_ONLY = ['password'];
const WITH_TOTP = ['password', 'totp', 'recovery_code'];

const NO_MFA = { methods: [], recoveryCodesRemaining: 0, passkeys: 0 };
const PASSWORD_CLAIMS = { amr: ['pwd'], aal: 1 };
const MFA_CLAIMS = { amr: ['pwd', 'otp', 'mfa'], aal: 2 };

let ipCounter = 0;
/** A client address no other request uses (believed with TRUST_PROXY=true). */
function nextIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 8) & 255}.${ipCounter & 255}.${1 + Math.floor(Math.random() * 250)}`;
}

/** The clients of every server of this file, for the leak scan at the end. */
const apis: Api[] = [];

async function start(env: Env): Promise<TestServer> {
  const server = await startServer({ env: { ADMIN_EMAIL, ADMIN_PASSWORD, ...env } });
  apis.push(server.api);
  return server;
}

afterAll(cleanup);

type Body = Record<string, unknown>;

const loginRequest = (api: Api, email: string, password: string) =>
  api.post('/api/auth/login', { email, password });
const me = (api: Api, token: string) => api.get('/api/auth/me', { token });
const refresh = (api: Api, refreshToken: string) =>
  api.post('/api/auth/refresh', { refresh_token: refreshToken });
const logout = (api: Api, token: string) => api.post('/api/auth/logout', {}, { token });
const enrol = (api: Api, token: string, password: string) =>
  api.post('/api/auth/mfa/totp', { password }, { token });
const confirm = (api: Api, token: string, code: string) =>
  api.post('/api/auth/mfa/totp/confirm', { code }, { token });
const removeTotp = (api: Api, token: string, body: Body) =>
  api.delete('/api/auth/mfa/totp', { token, body });
const regenerate = (api: Api, token: string, body: Body) =>
  api.post('/api/auth/mfa/recovery-codes', body, { token });
const verify = (api: Api, body: Body) => api.post('/api/auth/mfa/verify', body);
const changePassword = (
  api: Api,
  token: string,
  currentPassword: string,
  newPassword = strongPassword(),
) => api.post('/api/auth/change-password', { currentPassword, newPassword }, { token });
const patchMe = (api: Api, token: string, body: Body) =>
  api.patch('/api/users/me', body, { token });
const deleteMe = (api: Api, token: string, password: string) =>
  api.delete('/api/users/me', { token, body: { password } });
/** POST /api/auth/reauthenticate from a client IP of its own unless `ip` is given. */
const reauthenticate = (api: Api, token: string | undefined, body: Body, ip = nextIp()) =>
  api.post('/api/auth/reauthenticate', body, { token, headers: { 'x-forwarded-for': ip } });

const createUser = (api: Api, token: string, body: Body) => api.post('/api/users', body, { token });
const patchUser = (api: Api, token: string, id: string, body: Body) =>
  api.patch(`/api/users/${id}`, body, { token });
const deleteUser = (api: Api, token: string, id: string) =>
  api.delete(`/api/users/${id}`, { token });
const resetMfa = (api: Api, token: string, id: string) =>
  api.delete(`/api/users/${id}/mfa`, { token });
/** POST /api/users/import of a JSON array; rows without a hash are imported password-less. */
const importUsers = (api: Api, token: string, rows: Body[]) =>
  api.post('/api/users/import?allowNoPassword=true', rows, { token });

/** The users whose names match `tag`, as an admin lists them. */
async function usersTagged(api: Api, token: string, tag: string): Promise<{ id: string }[]> {
  const res = await api.get(`/api/users?search=${tag}&limit=100`, { token });
  expect(res.status, describeResponse(res)).toBe(200);
  return res.body.items;
}

const newTag = () => `Tag${randomBytes(5).toString('hex')}`;

function claims(accessToken: string): { amr: unknown; aal: unknown } {
  const payload = decodeJwtPart(accessToken);
  return { amr: payload.amr, aal: payload.aal };
}

/** Asserts the normal login token response (body transport) and answers its body. */
function expectTokens(res: ApiResponse, mfaEnabled: boolean): any {
  expect(res.status, describeResponse(res)).toBe(200);
  expectTokenResponse(res.body);
  expect(res.body.user.mfaEnabled).toBe(mfaEnabled);
  return res.body;
}

function expectNoContent(res: ApiResponse, what = ''): void {
  expect(res.status, `${what} ${describeResponse(res)}`).toBe(204);
  expect(res.text).toBe('');
}

function expectOk(res: ApiResponse, what = ''): void {
  expect(res.status, `${what} ${describeResponse(res)}`).toBe(200);
}

function expectEnrolmentRequired(res: ApiResponse, what = ''): void {
  expect(
    { what, status: res.status, code: res.body?.code },
    `${what} ${describeResponse(res)}`,
  ).toEqual({ what, status: 403, code: 'MFA_ENROLMENT_REQUIRED' });
  expectProblem(res, 403, 'MFA_ENROLMENT_REQUIRED');
}

function expectReauthRequired(res: ApiResponse, methods: string[], what = ''): void {
  expect(
    { what, status: res.status, code: res.body?.code, methods: res.body?.methods },
    `${what} ${describeResponse(res)}`,
  ).toEqual({ what, status: 403, code: 'REAUTH_REQUIRED', methods });
  expectProblem(res, 403, 'REAUTH_REQUIRED');
}

/** The one audit event of `type` that the request answered by `res` wrote. */
async function eventOf(
  api: Api,
  adminToken: string,
  res: ApiResponse,
  type: string,
): Promise<AuditEvent> {
  const requestId = res.headers.get('x-request-id') ?? '';
  const events = await eventsOfRequest(api, adminToken, requestId, { type });
  expect(events, `${type} of ${describeResponse(res)}`).toHaveLength(1);
  return events[0];
}

interface Factor {
  auth: Authenticator;
  recoveryCodes: string[];
}

/** Enrols and confirms TOTP with `token`; the authenticator continues after `previous`. */
async function enrolTotp(
  api: Api,
  token: string,
  password: string,
  previous?: Authenticator,
): Promise<Factor> {
  const started = await enrol(api, token, password);
  expect(started.status, describeResponse(started)).toBe(200);
  const auth = new Authenticator(started.body.secret, previous?.lastStep);
  const confirmed = await confirm(api, token, await auth.fresh());
  expect(confirmed.status, describeResponse(confirmed)).toBe(200);
  expect(confirmed.body.recoveryCodes).toHaveLength(10);
  return { auth, recoveryCodes: confirmed.body.recoveryCodes };
}

type MfaUser = LoggedInUser & Factor;

/** A new user with a confirmed TOTP factor, and the session that enrolled it. */
async function enrolledUser(api: Api): Promise<MfaUser> {
  const u = await registerAndLogin(api, { firstName: 'Original' });
  return { ...u, ...(await enrolTotp(api, u.accessToken, u.password)) };
}

/** First step of a login with a factor: answers the mfa_token. */
async function mfaToken(api: Api, u: { email: string; password: string }): Promise<string> {
  const res = await loginRequest(api, u.email, u.password);
  expect(res.status, describeResponse(res)).toBe(200);
  expect(res.body.mfa_required, describeResponse(res)).toBe(true);
  expect(res.body.mfa_token).toBeTypeOf('string');
  return res.body.mfa_token;
}

/** A complete two-step login; answers the token response. */
async function twoStepLogin(
  api: Api,
  u: { email: string; password: string },
  second: { code: string } | { recoveryCode: string },
): Promise<any> {
  const token = await mfaToken(api, u);
  return expectTokens(await verify(api, { mfa_token: token, ...second }), true);
}

/**
 * Routes outside the ones open before enrolment, each with a body it would otherwise accept
 * (the factor routes answer 409 there without a factor).
 */
function outsideEnrolment(
  api: Api,
  u: LoggedInUser,
  token: string,
): [string, () => Promise<ApiResponse>][] {
  return [
    ['GET /api/users/me', () => api.get('/api/users/me', { token })],
    ['GET /api/users/:id (own)', () => api.get(`/api/users/${u.user.id}`, { token })],
    ['PATCH /api/users/me', () => patchMe(api, token, { firstName: 'Blocked' })],
    ['GET /api/auth/sessions', () => api.get('/api/auth/sessions', { token })],
    [
      'DELETE /api/auth/sessions/:id',
      () => api.delete(`/api/auth/sessions/${randomUUID()}`, { token }),
    ],
    ['POST /api/auth/change-password', () => changePassword(api, token, u.password)],
    ['POST /api/auth/reauthenticate', () => reauthenticate(api, token, { password: u.password })],
    [
      'DELETE /api/auth/mfa/totp',
      () => removeTotp(api, token, { password: u.password, code: '123456' }),
    ],
    [
      'POST /api/auth/mfa/recovery-codes',
      () => regenerate(api, token, { password: u.password, code: '123456' }),
    ],
    ['DELETE /api/users/me', () => deleteMe(api, token, u.password)],
  ];
}

async function expectRestricted(api: Api, u: LoggedInUser, token = u.accessToken): Promise<void> {
  for (const [what, send] of outsideEnrolment(api, u, token)) {
    expectEnrolmentRequired(await send(), what);
  }
}

/** Routes a user without restriction reaches (none of them changes more than a name). */
async function expectUnrestricted(api: Api, u: LoggedInUser, token: string): Promise<void> {
  expectOk(await api.get('/api/users/me', { token }), 'GET /api/users/me');
  expectOk(await api.get(`/api/users/${u.user.id}`, { token }), 'GET /api/users/:id');
  const patched = await patchMe(api, token, { firstName: 'Allowed' });
  expectOk(patched, 'PATCH /api/users/me');
  expect(patched.body.firstName).toBe('Allowed');
  expectOk(await api.get('/api/auth/sessions', { token }), 'GET /api/auth/sessions');
}

interface BootedAdmin {
  id: string;
  /** The bootstrap admin's first session, logged in before it had a factor. */
  first: Tokens;
  /** What that session got before the enrolment: admin routes and its own account. */
  before: [string, ApiResponse][];
  /** GET /api/auth/me with it, before the enrolment. */
  meBefore: ApiResponse;
  /** GET /api/users with the same access token, once TOTP is confirmed. */
  after: ApiResponse;
  auth: Authenticator;
  /** An access token of a two-step login after the enrolment. */
  token: string;
}

/**
 * On a policy server the bootstrap admin has no factor, so its token is restricted: records
 * what it gets, enrols TOTP with that token and logs in again through the second step.
 */
async function bootAdmin(api: Api): Promise<BootedAdmin> {
  const first = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD);
  const token = first.accessToken;
  const before: [string, ApiResponse][] = [
    ['GET /api/users', await api.get('/api/users', { token })],
    ['GET /api/audit-events', await api.get('/api/audit-events', { token })],
    ['GET /api/users/me', await api.get('/api/users/me', { token })],
    [
      'POST /api/users',
      await createUser(api, token, { email: uniqueEmail('early'), password: strongPassword() }),
    ],
  ];
  const meBefore = await me(api, token);
  const { auth } = await enrolTotp(api, token, ADMIN_PASSWORD);
  const after = await api.get('/api/users', { token });
  const body = await twoStepLogin(
    api,
    { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    { code: await auth.fresh() },
  );
  return { id: first.user.id, first, before, meBefore, after, auth, token: body.access_token };
}

function expectBootedAdminRestrictedUntilEnrolled(admin: BootedAdmin): void {
  for (const [what, res] of admin.before) expectEnrolmentRequired(res, what);
  expect(admin.meBefore.status, describeResponse(admin.meBefore)).toBe(200);
  expect(admin.meBefore.body).toMatchObject({ role: 'ADMIN', mfaEnabled: false, mfa: NO_MFA });
  expect(claims(admin.first.accessToken)).toEqual(PASSWORD_CLAIMS);
  // The same access token, once the factor is confirmed.
  expectOk(admin.after, 'GET /api/users after the enrolment');
  expect(claims(admin.token)).toEqual(MFA_CLAIMS);
}

describe('MFA_POLICY=required', () => {
  let server: TestServer;
  let api: Api;
  let admin: BootedAdmin;

  beforeAll(async () => {
    server = await start({ MFA_POLICY: 'required' });
    api = server.api;
    admin = await bootAdmin(api);
  }, 120_000);
  afterAll(() => server?.stop());

  it('the bootstrap admin, without a factor, is restricted on admin routes too until it enrols', async () => {
    expectBootedAdminRestrictedUntilEnrolled(admin);
    expectOk(await api.get('/api/audit-events', { token: admin.token }), 'GET /api/audit-events');
  });

  it('a user without a factor logs in normally: tokens, amr pwd, aal 1, mfaEnabled false', async () => {
    const u = await registerAndLogin(api);
    const body = expectTokens(await loginRequest(api, u.email, u.password), false);
    expect(claims(body.access_token)).toEqual(PASSWORD_CLAIMS);
    expect(claims(u.accessToken)).toEqual(PASSWORD_CLAIMS);
  });

  it('with that token every other route answers 403 MFA_ENROLMENT_REQUIRED and does nothing', async () => {
    const u = await registerAndLogin(api, { firstName: 'Original' });
    await expectRestricted(api, u);
    // Nothing was done: the name, the password and the account are as they were.
    const mine = await me(api, u.accessToken);
    expect(mine.status, describeResponse(mine)).toBe(200);
    expect(mine.body).toMatchObject({ id: u.user.id, firstName: 'Original', mfaEnabled: false });
    expectTokens(await loginRequest(api, u.email, u.password), false);
  });

  it('GET /api/auth/me, refresh and logout work; the refreshed access token is restricted too', async () => {
    const u = await registerAndLogin(api);
    const mine = await me(api, u.accessToken);
    expect(mine.status, describeResponse(mine)).toBe(200);
    expect(mine.body).toMatchObject({ id: u.user.id, mfaEnabled: false, mfa: NO_MFA });

    const refreshed = expectTokens(await refresh(api, u.refreshToken), false);
    expect(claims(refreshed.access_token)).toEqual(PASSWORD_CLAIMS);
    expectEnrolmentRequired(await api.get('/api/users/me', { token: refreshed.access_token }));
    expectOk(await me(api, refreshed.access_token), 'GET /api/auth/me');

    expectNoContent(await logout(api, refreshed.access_token), 'POST /api/auth/logout');
    expectProblem(await refresh(api, refreshed.refresh_token), 401, 'INVALID_REFRESH_TOKEN');
    expectProblem(await me(api, refreshed.access_token), 401, 'UNAUTHORIZED');
  });

  it('enrols with that token; pending is not enough; once confirmed, the tokens of every session work everywhere', async () => {
    const u = await registerAndLogin(api);
    const other = await login(api, u.email, u.password);
    const started = await enrol(api, u.accessToken, u.password);
    expect(started.status, describeResponse(started)).toBe(200);
    const auth = new Authenticator(started.body.secret);
    expectEnrolmentRequired(await api.get('/api/users/me', { token: u.accessToken }), 'pending');
    expectEnrolmentRequired(await api.get('/api/users/me', { token: other.accessToken }));

    const confirmed = await confirm(api, u.accessToken, await auth.fresh());
    expect(confirmed.status, describeResponse(confirmed)).toBe(200);
    // Checked per request: no new token needed, for this session or the other one.
    await expectUnrestricted(api, u, u.accessToken);
    await expectUnrestricted(api, u, other.accessToken);
    const refreshed = expectTokens(await refresh(api, other.refreshToken), true);
    await expectUnrestricted(api, u, refreshed.access_token);
  });

  it('a user with a factor logs in through the second step, unrestricted', async () => {
    const u = await enrolledUser(api);
    const body = await twoStepLogin(api, u, { code: await u.auth.fresh() });
    expect(claims(body.access_token)).toEqual(MFA_CLAIMS);
    await expectUnrestricted(api, u, body.access_token);
  });

  it('without the factor again (removed, or reset by an admin) the user is restricted again', async () => {
    const u = await enrolledUser(api);
    expectNoContent(
      await removeTotp(api, u.accessToken, {
        password: u.password,
        recoveryCode: u.recoveryCodes[0],
      }),
      'DELETE /api/auth/mfa/totp',
    );
    // The same access token, at once.
    await expectRestricted(api, u);
    const mine = await me(api, u.accessToken);
    expect(mine.body).toMatchObject({ mfaEnabled: false, mfa: NO_MFA });

    await enrolTotp(api, u.accessToken, u.password, u.auth);
    await expectUnrestricted(api, u, u.accessToken);

    expectNoContent(await resetMfa(api, admin.token, u.user.id), 'DELETE /api/users/:id/mfa');
    const direct = expectTokens(await loginRequest(api, u.email, u.password), false);
    await expectRestricted(api, u, direct.access_token);
  });
});

describe('MFA_POLICY=required-for-admins', () => {
  let server: TestServer;
  let api: Api;
  let admin: BootedAdmin;

  beforeAll(async () => {
    server = await start({ MFA_POLICY: 'required-for-admins' });
    api = server.api;
    admin = await bootAdmin(api);
  }, 120_000);
  afterAll(() => server?.stop());

  it('the bootstrap admin, without a factor, is restricted until it enrols', () => {
    expectBootedAdminRestrictedUntilEnrolled(admin);
  });

  it('a USER without a factor is unaffected: tokens, every route, and the step-up routes of a fresh session', async () => {
    const u = await registerAndLogin(api);
    const body = expectTokens(await loginRequest(api, u.email, u.password), false);
    expect(claims(body.access_token)).toEqual(PASSWORD_CLAIMS);
    await expectUnrestricted(api, u, u.accessToken);
    expectNoContent(
      await reauthenticate(api, u.accessToken, { password: u.password }),
      'POST /api/auth/reauthenticate',
    );
    const newPassword = strongPassword();
    expectNoContent(
      await changePassword(api, u.accessToken, u.password, newPassword),
      'POST /api/auth/change-password',
    );
    expectNoContent(await deleteMe(api, u.accessToken, newPassword), 'DELETE /api/users/me');
    expectProblem(await loginRequest(api, u.email, newPassword), 401, 'INVALID_CREDENTIALS');
  });

  it('another ADMIN without a factor is restricted until it enrols', async () => {
    const email = uniqueEmail('second-admin');
    const password = strongPassword();
    const created = await createUser(api, admin.token, { email, password, role: 'ADMIN' });
    expect(created.status, describeResponse(created)).toBe(201);
    const t = await login(api, email, password);
    const u: LoggedInUser = { ...t, email, password };

    expectEnrolmentRequired(await api.get('/api/users', { token: t.accessToken }));
    expectEnrolmentRequired(await api.get('/api/audit-events', { token: t.accessToken }));
    expectEnrolmentRequired(
      await patchUser(api, t.accessToken, admin.id, { firstName: 'Hijacked' }),
    );
    await expectRestricted(api, u);
    const mine = await me(api, t.accessToken);
    expect(mine.body).toMatchObject({ role: 'ADMIN', mfaEnabled: false });

    await enrolTotp(api, t.accessToken, password);
    expectOk(await api.get('/api/users', { token: t.accessToken }), 'GET /api/users');
    await expectUnrestricted(api, u, t.accessToken);
    const adminNow = await api.get(`/api/users/${admin.id}`, { token: admin.token });
    expect(adminNow.body.firstName).not.toBe('Hijacked');
  });

  it('a fresh session (REAUTH_MAX_AGE 10m by default) passes every step-up check', async () => {
    const tag = newTag();
    const token = admin.token;
    const created = await createUser(api, token, {
      email: uniqueEmail('fresh'),
      password: strongPassword(),
      lastName: tag,
    });
    expect(created.status, describeResponse(created)).toBe(201);
    expectOk(
      await patchUser(api, token, created.body.id, { firstName: 'Fresh' }),
      'PATCH /api/users/:id',
    );
    const target = await enrolledUser(api);
    expectNoContent(await resetMfa(api, token, target.user.id), 'DELETE /api/users/:id/mfa');
    const imported = await importUsers(api, token, [
      { email: uniqueEmail('imported'), lastName: tag },
    ]);
    expect(imported.status, describeResponse(imported)).toBe(200);
    expect(imported.body).toMatchObject({ inserted: 1, errors: 0 });
    expectNoContent(await deleteUser(api, token, created.body.id), 'DELETE /api/users/:id');
    expect(await usersTagged(api, token, tag)).toHaveLength(1);

    const u = await enrolledUser(api);
    const codes = await regenerate(api, u.accessToken, {
      password: u.password,
      code: await u.auth.fresh(),
    });
    expect(codes.status, describeResponse(codes)).toBe(200);
    expectNoContent(
      await removeTotp(api, u.accessToken, {
        password: u.password,
        recoveryCode: codes.body.recoveryCodes[0],
      }),
      'DELETE /api/auth/mfa/totp',
    );
    // The email change itself may or may not be offered on this route; it is not refused
    // for want of a recent authentication.
    const moved = await patchMe(api, u.accessToken, { email: uniqueEmail('moved') });
    expect(moved.body?.code, describeResponse(moved)).not.toBe('REAUTH_REQUIRED');
  });
});

describe(`step-up: REAUTH_MAX_AGE=${REAUTH_MAX_AGE}, default MFA_POLICY (optional)`, () => {
  let server: TestServer;
  let api: Api;
  let adminId: string;
  /** Sessions logged in by beforeAll and older than REAUTH_MAX_AGE once it ends, per test. */
  let stale: {
    admin: Tokens;
    otherAdmin: Tokens;
    plain: LoggedInUser;
    factor: MfaUser;
    outside: LoggedInUser;
    refreshed: LoggedInUser;
    first: LoggedInUser;
    second: Tokens;
    totp: MfaUser;
    recovery: MfaUser;
    wrongPlain: LoggedInUser;
    wrongFactor: MfaUser;
    target: LoggedInUser;
    factorTarget: MfaUser;
  };

  beforeAll(async () => {
    server = await start({
      REAUTH_MAX_AGE,
      TRUST_PROXY: 'true',
      RATE_LIMIT_REAUTHENTICATE_IP: `${REAUTH_IP_LIMIT}/1m`,
      RATE_LIMIT_REAUTHENTICATE_ACCOUNT: `${REAUTH_ACCOUNT_LIMIT}/1m`,
    });
    api = server.api;
    const adminSession = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD);
    const otherAdmin = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD);
    adminId = adminSession.user.id;
    const [plain, outside, refreshed, first, wrongPlain, target] = await Promise.all(
      Array.from({ length: 6 }, () => registerAndLogin(api, { firstName: 'Original' })),
    );
    const [factor, totp, recovery, wrongFactor, factorTarget] = await Promise.all(
      Array.from({ length: 5 }, () => enrolledUser(api)),
    );
    const second = await login(api, first.email, first.password);
    stale = {
      admin: adminSession,
      otherAdmin,
      plain,
      factor,
      outside,
      refreshed,
      first,
      second,
      totp,
      recovery,
      wrongPlain,
      wrongFactor,
      target,
      factorTarget,
    };
    // The one wait of this file: every session above is now older than REAUTH_MAX_AGE.
    await sleep(STALE_AFTER_MS);
  }, 120_000);
  afterAll(() => server?.stop());

  /** Admin reads need no recent authentication: the stale admin session reads the audit log. */
  const event = (res: ApiResponse, type: string) =>
    eventOf(api, stale.admin.accessToken, res, type);

  it('a stale session without a factor: 403 REAUTH_REQUIRED, methods ["password"], on each of its step-up routes, before anything is checked or changed', async () => {
    const u = stale.plain;
    const token = u.accessToken;
    const newEmail = uniqueEmail('moved');
    const attempts: [string, () => Promise<ApiResponse>][] = [
      ['change-password', () => changePassword(api, token, u.password)],
      ['change-password, wrong current', () => changePassword(api, token, strongPassword())],
      ['PATCH me email', () => patchMe(api, token, { email: newEmail })],
      ['PATCH me email + name', () => patchMe(api, token, { email: newEmail, firstName: 'New' })],
      ['DELETE me', () => deleteMe(api, token, u.password)],
      ['DELETE me, wrong password', () => deleteMe(api, token, strongPassword())],
      // Without a factor these would be 409 MFA_NOT_ENABLED.
      ['DELETE totp', () => removeTotp(api, token, { password: u.password, code: '123456' })],
      ['recovery-codes', () => regenerate(api, token, { password: u.password, code: '123456' })],
    ];
    for (const [what, send] of attempts) expectReauthRequired(await send(), PASSWORD_ONLY, what);

    const mine = await me(api, token);
    expect(mine.status, describeResponse(mine)).toBe(200);
    expect(mine.body).toMatchObject({ email: u.email, firstName: 'Original', mfaEnabled: false });
    expectTokens(await loginRequest(api, u.email, u.password), false);
  });

  it('a stale session with a factor: methods ["password", "totp", "recovery_code"], and the factor and its codes stay', async () => {
    const u = stale.factor;
    const token = u.accessToken;
    const attempts: [string, () => Promise<ApiResponse>][] = [
      [
        'DELETE totp, recovery code',
        () => removeTotp(api, token, { password: u.password, recoveryCode: u.recoveryCodes[0] }),
      ],
      [
        'DELETE totp, code',
        () => removeTotp(api, token, { password: u.password, code: u.auth.at().code }),
      ],
      [
        'recovery-codes',
        () => regenerate(api, token, { password: u.password, code: u.auth.at().code }),
      ],
      ['change-password', () => changePassword(api, token, u.password)],
      ['PATCH me email', () => patchMe(api, token, { email: uniqueEmail('moved') })],
      ['DELETE me', () => deleteMe(api, token, u.password)],
    ];
    for (const [what, send] of attempts) expectReauthRequired(await send(), WITH_TOTP, what);

    const mine = await me(api, token);
    expect(mine.status, describeResponse(mine)).toBe(200);
    expect(mine.body).toMatchObject({
      email: u.email,
      mfaEnabled: true,
      mfa: { methods: ['totp'], recoveryCodesRemaining: 10, passkeys: 0 },
    });
    // The recovery code sent above was not spent.
    await twoStepLogin(api, u, { recoveryCode: u.recoveryCodes[0] });
  });

  it('admin writes of a stale admin session: 403 REAUTH_REQUIRED and nothing written; admin reads still work', async () => {
    const token = stale.admin.accessToken;
    const tag = newTag();
    const { target, factorTarget } = stale;
    const attempts: [string, () => Promise<ApiResponse>][] = [
      [
        'POST /api/users',
        () =>
          createUser(api, token, {
            email: uniqueEmail('blocked'),
            password: strongPassword(),
            lastName: tag,
          }),
      ],
      [
        'PATCH /api/users/:id',
        () => patchUser(api, token, target.user.id, { firstName: 'Changed', lastName: tag }),
      ],
      ['DELETE /api/users/:id', () => deleteUser(api, token, target.user.id)],
      ['DELETE /api/users/:id/mfa', () => resetMfa(api, token, factorTarget.user.id)],
      [
        'POST /api/users/import',
        () => importUsers(api, token, [{ email: uniqueEmail('blocked-import'), lastName: tag }]),
      ],
    ];
    for (const [what, send] of attempts) expectReauthRequired(await send(), PASSWORD_ONLY, what);

    expect(await usersTagged(api, token, tag)).toEqual([]);
    const targetNow = await api.get(`/api/users/${target.user.id}`, { token });
    expect(targetNow.status, describeResponse(targetNow)).toBe(200);
    expect(targetNow.body.firstName).toBe('Original');
    const factorNow = await api.get(`/api/users/${factorTarget.user.id}`, { token });
    expect(factorNow.body.mfaEnabled).toBe(true);
    // A reset or a deletion would have ended their sessions.
    expectOk(await me(api, target.accessToken), 'target session');
    expectOk(await me(api, factorTarget.accessToken), 'factor target session');
  });

  it('routes outside the list need no recent authentication (PATCH me without an email change, enrolment, reads, logout)', async () => {
    const u = stale.outside;
    const token = u.accessToken;
    expectOk(await me(api, token), 'GET /api/auth/me');
    expectOk(await api.get('/api/users/me', { token }), 'GET /api/users/me');
    expectOk(await api.get(`/api/users/${u.user.id}`, { token }), 'GET /api/users/:id');
    expectOk(await api.get('/api/auth/sessions', { token }), 'GET /api/auth/sessions');
    const renamed = await patchMe(api, token, { firstName: 'Stale', lastName: 'Session' });
    expectOk(renamed, 'PATCH /api/users/me');
    expect(renamed.body).toMatchObject({ firstName: 'Stale', lastName: 'Session' });
    // The same address is no change of email.
    const same = await patchMe(api, token, { email: u.email, firstName: 'Same' });
    expect(same.body?.code, describeResponse(same)).not.toBe('REAUTH_REQUIRED');

    await enrolTotp(api, token, u.password);
    const mine = await me(api, token);
    expect(mine.body).toMatchObject({ mfaEnabled: true });
    expectNoContent(await logout(api, token), 'POST /api/auth/logout');
  });

  it('refresh does not renew it: the refreshed access tokens of a stale session are refused too', async () => {
    const u = stale.refreshed;
    const once = expectTokens(await refresh(api, u.refreshToken), false);
    expectReauthRequired(await changePassword(api, once.access_token, u.password), PASSWORD_ONLY);
    const twice = expectTokens(await refresh(api, once.refresh_token), false);
    expectReauthRequired(await deleteMe(api, twice.access_token, u.password), PASSWORD_ONLY);
  });

  it('POST /api/auth/reauthenticate with the password: 204 and session.reauthenticated; this session (and its refreshes) passes again, the other session of the user does not', async () => {
    const { first, second } = stale;
    const renewed = await reauthenticate(api, first.accessToken, { password: first.password });
    expectNoContent(renewed, 'reauthenticate');
    expectReauthRequired(
      await changePassword(api, second.accessToken, first.password),
      PASSWORD_ONLY,
      'other session',
    );
    const refreshed = expectTokens(await refresh(api, first.refreshToken), false);
    expectNoContent(
      await changePassword(api, refreshed.access_token, first.password),
      'change-password',
    );
    expect(await event(renewed, 'session.reauthenticated')).toMatchObject({
      userId: first.user.id,
      metadata: { method: 'password' },
    });
  });

  it('an admin renews its session with the password; then its writes pass, and its other session stays stale', async () => {
    const { otherAdmin, admin, target } = stale;
    const renewed = await reauthenticate(api, otherAdmin.accessToken, {
      password: ADMIN_PASSWORD,
    });
    expectNoContent(renewed, 'reauthenticate');
    const patched = await patchUser(api, otherAdmin.accessToken, target.user.id, {
      lastName: 'Renewed',
    });
    expectOk(patched, 'PATCH /api/users/:id');
    expectReauthRequired(
      await patchUser(api, admin.accessToken, target.user.id, { lastName: 'Stale' }),
      PASSWORD_ONLY,
      'other admin session',
    );
    const targetNow = await api.get(`/api/users/${target.user.id}`, { token: admin.accessToken });
    expect(targetNow.body.lastName).toBe('Renewed');
    expect(await event(renewed, 'session.reauthenticated')).toMatchObject({
      userId: adminId,
      metadata: { method: 'password' },
    });
  });

  it('with a TOTP code: 204, method totp; the code is spent, here and at the second step of a login', async () => {
    const u = stale.totp;
    const code = await u.auth.fresh();
    const renewed = await reauthenticate(api, u.accessToken, { code });
    expectNoContent(renewed, 'reauthenticate');
    const newPassword = strongPassword();
    expectNoContent(
      await changePassword(api, u.accessToken, u.password, newPassword),
      'change-password',
    );
    expect(await event(renewed, 'session.reauthenticated')).toMatchObject({
      userId: u.user.id,
      metadata: { method: 'totp' },
    });
    expectProblem(await reauthenticate(api, u.accessToken, { code }), 400, 'INVALID_CODE');
    const token = await mfaToken(api, { email: u.email, password: newPassword });
    expectProblem(await verify(api, { mfa_token: token, code }), 400, 'INVALID_CODE');
  });

  it('with a recovery code: 204, method recovery_code; the code is spent', async () => {
    const u = stale.recovery;
    const [code, next] = u.recoveryCodes;
    const renewed = await reauthenticate(api, u.accessToken, { recoveryCode: code });
    expectNoContent(renewed, 'reauthenticate');
    const newPassword = strongPassword();
    expectNoContent(
      await changePassword(api, u.accessToken, u.password, newPassword),
      'change-password',
    );
    expect(await event(renewed, 'session.reauthenticated')).toMatchObject({
      userId: u.user.id,
      metadata: { method: 'recovery_code' },
    });
    expectProblem(
      await reauthenticate(api, u.accessToken, { recoveryCode: code }),
      400,
      'INVALID_CODE',
    );
    const mine = await me(api, u.accessToken);
    expect(mine.body.mfa).toEqual({ methods: ['totp'], recoveryCodesRemaining: 9, passkeys: 0 });
    const token = await mfaToken(api, { email: u.email, password: newPassword });
    expectProblem(await verify(api, { mfa_token: token, recoveryCode: code }), 400, 'INVALID_CODE');
    expectTokens(await verify(api, { mfa_token: token, recoveryCode: next }), true);
  });

  it('refuses a wrong password, any code from a user without TOTP, none or two proofs, and no token; the session stays stale', async () => {
    const u = stale.wrongPlain;
    const token = u.accessToken;
    const send = (body: Body) => reauthenticate(api, token, body);
    expectProblem(await send({ password: strongPassword() }), 400, 'INVALID_CURRENT_PASSWORD');
    expectProblem(await send({ code: '123456' }), 400, 'INVALID_CODE');
    expectProblem(await send({ recoveryCode: 'abcde-fghij' }), 400, 'INVALID_CODE');
    for (const body of [
      {},
      { password: u.password, code: '123456' },
      { password: u.password, recoveryCode: 'abcde-fghij' },
      { code: '123456', recoveryCode: 'abcde-fghij' },
    ]) {
      expectProblem(await send(body), 400, 'VALIDATION_FAILED');
    }
    expectProblem(
      await reauthenticate(api, undefined, { password: u.password }),
      401,
      'UNAUTHORIZED',
    );
    expectReauthRequired(await changePassword(api, token, u.password), PASSWORD_ONLY);
  });

  it('refuses a wrong code, a recovery code of another user and a wrong password from a user with TOTP; the session stays stale', async () => {
    const u = stale.wrongFactor;
    const token = u.accessToken;
    expectProblem(
      await reauthenticate(api, token, { code: wrongCodes(u.auth, 1)[0] }),
      400,
      'INVALID_CODE',
    );
    expectProblem(
      await reauthenticate(api, token, { recoveryCode: stale.factor.recoveryCodes[9] }),
      400,
      'INVALID_CODE',
    );
    expectProblem(
      await reauthenticate(api, token, { password: strongPassword() }),
      400,
      'INVALID_CURRENT_PASSWORD',
    );
    expectReauthRequired(
      await removeTotp(api, token, { password: u.password, recoveryCode: u.recoveryCodes[0] }),
      WITH_TOTP,
    );
  });

  it('refuses a code of a pending (unconfirmed) TOTP with 400 INVALID_CODE', async () => {
    const u = await registerAndLogin(api);
    const started = await enrol(api, u.accessToken, u.password);
    expect(started.status, describeResponse(started)).toBe(200);
    const pending = new Authenticator(started.body.secret);
    expectProblem(
      await reauthenticate(api, u.accessToken, { code: pending.at().code }),
      400,
      'INVALID_CODE',
    );
  });

  it('a session that just logged in passes, with the password or with password and second factor', async () => {
    const u = await registerAndLogin(api);
    expectNoContent(await changePassword(api, u.accessToken, u.password), 'change-password');
    const m = await enrolledUser(api);
    const body = await twoStepLogin(api, m, { recoveryCode: m.recoveryCodes[0] });
    expectNoContent(
      await removeTotp(api, body.access_token, {
        password: m.password,
        recoveryCode: m.recoveryCodes[1],
      }),
      'DELETE /api/auth/mfa/totp',
    );
  });

  it('RATE_LIMIT_REAUTHENTICATE_IP and _ACCOUNT are configuration variables the harness relaxes', () => {
    for (const name of ['RATE_LIMIT_REAUTHENTICATE_IP', 'RATE_LIMIT_REAUTHENTICATE_ACCOUNT']) {
      expect(RATE_LIMIT_VARS).toContain(name);
      expect(RELAXED_LIMITS[name]).toBe('1000000/1m');
    }
  });

  it(`refuses the request after ${REAUTH_ACCOUNT_LIMIT} for one user, from whatever IP and session`, async () => {
    const u = await registerAndLogin(api);
    const again = await login(api, u.email, u.password);
    const other = await registerAndLogin(api);
    for (let i = 0; i < REAUTH_ACCOUNT_LIMIT; i++) {
      const token = i % 2 === 0 ? u.accessToken : again.accessToken;
      expectNoContent(await reauthenticate(api, token, { password: u.password }), `#${i + 1}`);
    }
    const ip = nextIp();
    const refused = await reauthenticate(api, u.accessToken, { password: u.password }, ip);
    const problem = expectProblem(refused, 429, 'RATE_LIMITED');
    expect(retryAfter(refused)).toBeLessThanOrEqual(60);
    expectProblem(
      await reauthenticate(api, again.accessToken, { password: u.password }),
      429,
      'RATE_LIMITED',
    );
    // Another user from the same IP is not affected.
    expectNoContent(await reauthenticate(api, other.accessToken, { password: other.password }, ip));
    const [exceeded] = await eventsOfRequest(api, stale.admin.accessToken, problem.requestId, {
      type: 'rate_limit.exceeded',
    });
    expect(exceeded).toMatchObject({
      ip,
      metadata: { scope: 'account', limit: REAUTH_ACCOUNT_LIMIT, windowSeconds: 60 },
    });
  });

  it(`refuses the request after ${REAUTH_IP_LIMIT} from one IP, whoever sends it`, async () => {
    const [a, b] = await Promise.all([registerAndLogin(api), registerAndLogin(api)]);
    const ip = nextIp();
    for (let i = 0; i < REAUTH_IP_LIMIT; i++) {
      expectNoContent(await reauthenticate(api, a.accessToken, { password: a.password }, ip));
    }
    const refused = await reauthenticate(api, b.accessToken, { password: b.password }, ip);
    const problem = expectProblem(refused, 429, 'RATE_LIMITED');
    expect(retryAfter(refused)).toBeLessThanOrEqual(60);
    expectNoContent(await reauthenticate(api, b.accessToken, { password: b.password }, nextIp()));
    const [exceeded] = await eventsOfRequest(api, stale.admin.accessToken, problem.requestId, {
      type: 'rate_limit.exceeded',
    });
    expect(exceeded).toMatchObject({
      ip,
      metadata: { scope: 'ip', limit: REAUTH_IP_LIMIT, windowSeconds: 60 },
    });
  });
});

describe('configuration', () => {
  it.each([
    ['MFA_POLICY', 'always'],
    ['MFA_POLICY', 'required-for-users'],
    ['REAUTH_MAX_AGE', 'ten minutes'],
  ])('stops start-up with one line naming %s=%s', async (name, value) => {
    const dataDir = makeDataDir();
    try {
      const proc = startProcess({ NODE_ENV: 'test', DATA_DIR: dataDir, [name]: value });
      expect(await waitForExit(proc)).toBe(1);
      await expect.poll(() => tail(proc.logs)).toContain(`Invalid configuration: ${name} `);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('secrets stay secret', () => {
  it('no response contained a password hash, a token hash or a stack trace in this file', () => {
    expect(apis).toHaveLength(3);
    expect(apis.flatMap((api) => findLeaks(api))).toEqual([]);
  });
});
