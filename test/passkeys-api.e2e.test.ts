// Passkeys over HTTP (issue 16 point 3, 8): registration, the username-less sign-in, the
// second step and step-up with a passkey, single-use challenges, the signature counter, the
// relying party checks, the limits and the login backoff, and what the admin reset removes.
// The authenticator is test/support/soft-authenticator.ts (ES256, `none` attestation), so
// every case runs in milliseconds; test/passkeys.e2e.test.ts drives the same routes from
// real Chromium with its virtual authenticator.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsOfRequest } from './support/audit.js';
import { type LoggedInUser, login, registerAndLogin } from './support/fixtures.js';
import {
  type Api,
  type ApiResponse,
  decodeJwtPart,
  describeResponse,
  expectProblem,
} from './support/http.js';
import { mailsFor, waitForNth } from './support/mail.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';

const ADMIN_EMAIL = 'passkey-admin@example.com';
const ADMIN_PASSWORD = 'passkey-bootstrap-passphrase';
/** RATE_LIMIT_PASSKEY_LOGIN_IP and _ACCOUNT of this server, per minute (TRUST_PROXY on). */
const IP_LIMIT = 12;
const ACCOUNT_LIMIT = 6;
const BACKOFF_THRESHOLD = 3;

let smtp: SmtpSink;
let server: TestServer;
let api: Api;
let adminToken: string;
let origin: string;

/** Every request from an IP of its own unless a test says otherwise (per-IP limits). */
let nextIp = 1;
const freshIp = () => `198.51.100.${(nextIp++ % 250) + 1}`;
const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

beforeAll(async () => {
  smtp = await startSmtpSink();
  server = await startServer({
    env: {
      SMTP_URL: smtp.url,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      TRUST_PROXY: 'true',
      RATE_LIMIT_PASSKEY_LOGIN_IP: `${IP_LIMIT}/1m`,
      RATE_LIMIT_PASSKEY_LOGIN_ACCOUNT: `${ACCOUNT_LIMIT}/1m`,
      LOGIN_BACKOFF_THRESHOLD: String(BACKOFF_THRESHOLD),
    },
  });
  api = server.api;
  // The server's default relying party: PUBLIC_URL is http://localhost:<port>.
  origin = `http://localhost:${server.port}`;
  adminToken = (await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
}, 120_000);
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

const registrationOptions = (token: string) =>
  api.post('/api/auth/passkeys/registration/options', {}, { token });
const registerCredential = (token: string, credential: unknown, name?: string) =>
  api.post('/api/auth/passkeys/registration', { credential, ...(name ? { name } : {}) }, { token });
const loginOptions = (ip = freshIp()) => api.post('/api/auth/passkeys/login/options', {}, from(ip));
const passkeyLogin = (credential: unknown, ip = freshIp()) =>
  api.post('/api/auth/passkeys/login', { credential }, from(ip));
const me = (token: string) => api.get('/api/auth/me', { token });

/** A user with one registered passkey on their own authenticator. */
async function userWithPasskey(
  authenticator = new SoftAuthenticator(`http://localhost:${server.port}`),
): Promise<{
  u: LoggedInUser;
  authenticator: SoftAuthenticator;
  passkeyId: string;
  res: ApiResponse;
}> {
  const u = await registerAndLogin(api);
  const options = await registrationOptions(u.accessToken);
  expect(options.status, describeResponse(options)).toBe(200);
  const res = await registerCredential(
    u.accessToken,
    authenticator.register(options.body),
    'Laptop',
  );
  expect(res.status, describeResponse(res)).toBe(201);
  return { u, authenticator, passkeyId: res.body.passkey.id, res };
}

async function signIn(authenticator: SoftAuthenticator, ip = freshIp()) {
  const options = await loginOptions(ip);
  expect(options.status, describeResponse(options)).toBe(200);
  return passkeyLogin(authenticator.assert(options.body), ip);
}

async function eventsOf(res: ApiResponse, type: string) {
  return eventsOfRequest(api, adminToken, res.headers.get('x-request-id') ?? '', { type });
}

describe('registration', () => {
  it('answers creation options for a discoverable credential of this relying party', async () => {
    const u = await registerAndLogin(api);
    const res = await registrationOptions(u.accessToken);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.rp).toEqual({ id: 'localhost', name: 'authkit' });
    expect(Buffer.from(res.body.user.id, 'base64url').toString()).toBe(u.user.id);
    expect(res.body.user.name).toBe(u.email);
    expect(res.body.authenticatorSelection).toMatchObject({ residentKey: 'required' });
    expect(res.body.attestation).toBe('none');
    expect(res.body.excludeCredentials).toEqual([]);
    expect(typeof res.body.challenge).toBe('string');
  });

  it('the first passkey turns two-step sign-in on, with ten recovery codes, an event and an email', async () => {
    const { u, res, passkeyId } = await userWithPasskey();
    expect(res.body.passkey).toMatchObject({
      id: passkeyId,
      name: 'Laptop',
      lastUsedAt: null,
      deviceType: 'singleDevice',
      backedUp: false,
      transports: ['internal'],
    });
    expect(res.body.recoveryCodes).toHaveLength(10);
    expect(await eventsOf(res, 'passkey.added')).toHaveLength(1);
    expect(await eventsOf(res, 'mfa.enrolled')).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ method: 'webauthn' }) }),
    ]);
    const mine = await me(u.accessToken);
    expect(mine.body.mfaEnabled).toBe(true);
    expect(mine.body.mfa).toEqual({
      methods: ['webauthn'],
      recoveryCodesRemaining: 10,
      passkeys: 1,
    });
    await waitForNth(smtp, u.email, 'Two-step sign-in was turned on');
    // The password now asks for the second step, and says a passkey will do.
    const pwd = await api.post('/api/auth/login', { email: u.email, password: u.password });
    expect(pwd.body).toMatchObject({ mfa_required: true, methods: ['webauthn', 'recovery_code'] });
  });

  it('a second passkey: no new recovery codes, "A passkey was added", listed newest first; the first is excluded from new options', async () => {
    const { u, authenticator } = await userWithPasskey();
    const options = await registrationOptions(u.accessToken);
    expect(options.body.excludeCredentials).toEqual([
      expect.objectContaining({ id: authenticator.credentials[0].id.toString('base64url') }),
    ]);
    const second = new SoftAuthenticator(origin);
    const res = await registerCredential(u.accessToken, second.register(options.body), 'Phone');
    expect(res.status, describeResponse(res)).toBe(201);
    expect(res.body.recoveryCodes).toBeUndefined();
    const list = await api.get('/api/auth/passkeys', { token: u.accessToken });
    expect(list.body.map((p: { name: string }) => p.name)).toEqual(['Phone', 'Laptop']);
    const mail = await waitForNth(smtp, u.email, 'A passkey was added to your account');
    expect(mail.text).toContain('"Phone"');
  });

  it('refuses a reused, foreign, forged or wrong-origin challenge with 400 PASSKEY_REJECTED', async () => {
    const u = await registerAndLogin(api);
    const other = await registerAndLogin(api);
    const authenticator = new SoftAuthenticator(origin);
    // Another user's challenge.
    const foreign = await registrationOptions(other.accessToken);
    expectProblem(
      await registerCredential(u.accessToken, authenticator.register(foreign.body)),
      400,
      'PASSKEY_REJECTED',
    );
    // A challenge never handed out.
    const made = await registrationOptions(u.accessToken);
    const forged = { ...made.body, challenge: randomBytes(32).toString('base64url') };
    expectProblem(
      await registerCredential(u.accessToken, authenticator.register(forged)),
      400,
      'PASSKEY_REJECTED',
    );
    // Another origin: refused, and the challenge is spent by the attempt.
    const wrongOrigin = authenticator.register(made.body, { origin: 'https://evil.example' });
    expectProblem(await registerCredential(u.accessToken, wrongOrigin), 400, 'PASSKEY_REJECTED');
    expectProblem(
      await registerCredential(u.accessToken, authenticator.register(made.body)),
      400,
      'PASSKEY_REJECTED',
    );
    // A good one works, once.
    const good = await registrationOptions(u.accessToken);
    const credential = authenticator.register(good.body);
    expect((await registerCredential(u.accessToken, credential)).status).toBe(201);
    expectProblem(await registerCredential(u.accessToken, credential), 400, 'PASSKEY_REJECTED');
    const list = await api.get('/api/auth/passkeys', { token: u.accessToken });
    expect(list.body).toHaveLength(1);
  });

  it('refuses a malformed credential with 400 VALIDATION_FAILED naming the field', async () => {
    const u = await registerAndLogin(api);
    const res = await registerCredential(u.accessToken, { id: 'x', type: 'password' });
    const problem = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(problem.errors)).toMatch(/credential/);
  });

  it("renames (404 for an unknown or another user's passkey) and removes; the last one turns MFA off", async () => {
    const { u, passkeyId } = await userWithPasskey();
    const other = await registerAndLogin(api);
    const renamed = await api.patch(
      `/api/auth/passkeys/${passkeyId}`,
      { name: 'Work' },
      { token: u.accessToken },
    );
    expect(renamed.status, describeResponse(renamed)).toBe(200);
    expect(renamed.body.name).toBe('Work');
    expectProblem(
      await api.patch(
        `/api/auth/passkeys/${passkeyId}`,
        { name: 'Mine' },
        { token: other.accessToken },
      ),
      404,
      'NOT_FOUND',
    );
    expectProblem(
      await api.delete(`/api/auth/passkeys/${randomUUID()}`, { token: u.accessToken }),
      404,
      'NOT_FOUND',
    );
    expectProblem(
      await api.patch(`/api/auth/passkeys/${passkeyId}`, { name: '  ' }, { token: u.accessToken }),
      400,
      'VALIDATION_FAILED',
    );
    const removed = await api.delete(`/api/auth/passkeys/${passkeyId}`, { token: u.accessToken });
    expect(removed.status, describeResponse(removed)).toBe(204);
    expect(await eventsOf(removed, 'passkey.removed')).toHaveLength(1);
    expect(await eventsOf(removed, 'mfa.removed')).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ method: 'webauthn' }) }),
    ]);
    const mine = await me(u.accessToken);
    expect(mine.body.mfaEnabled).toBe(false);
    expect(mine.body.mfa).toEqual({ methods: [], recoveryCodesRemaining: 0, passkeys: 0 });
    const pwd = await api.post('/api/auth/login', { email: u.email, password: u.password });
    expect(pwd.body.access_token).toBeTruthy();
  });
});

describe('username-less sign-in', () => {
  it('answers the tokens with amr hwk+user+mfa and aal 2, passkey.login, and records the use', async () => {
    const { u, authenticator, passkeyId } = await userWithPasskey();
    const options = await loginOptions();
    expect(options.body.allowCredentials).toEqual([]);
    expect(options.body.userVerification).toBe('required');
    const res = await passkeyLogin(authenticator.assert(options.body));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.user.id).toBe(u.user.id);
    const claims = decodeJwtPart(res.body.access_token, 1);
    expect(claims).toMatchObject({ amr: ['hwk', 'user', 'mfa'], aal: 2, sub: u.user.id });
    expect(await eventsOf(res, 'passkey.login')).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ passkeyId }) }),
    ]);
    expect(await eventsOf(res, 'user.login')).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ method: 'passkey' }) }),
    ]);
    // The refreshed token keeps how the session was authenticated.
    const refreshed = await api.post('/api/auth/refresh', {
      refresh_token: res.body.refresh_token,
    });
    expect(decodeJwtPart(refreshed.body.access_token, 1)).toMatchObject({ aal: 2 });
    const list = await api.get('/api/auth/passkeys', { token: res.body.access_token });
    expect(list.body[0].lastUsedAt).not.toBeNull();
  });

  it('a challenge works once: the same assertion again is 401 INVALID_PASSKEY', async () => {
    const { authenticator } = await userWithPasskey();
    const options = await loginOptions();
    const assertion = authenticator.assert(options.body);
    expect((await passkeyLogin(assertion)).status).toBe(200);
    expectProblem(await passkeyLogin(assertion), 401, 'INVALID_PASSKEY');
  });

  it('refuses an unknown challenge, an unknown credential, another origin, a bad signature, and no user verification', async () => {
    const { authenticator } = await userWithPasskey();
    const forged = { challenge: randomBytes(32).toString('base64url') };
    expectProblem(await passkeyLogin(authenticator.assert(forged)), 401, 'INVALID_PASSKEY');
    const stranger = new SoftAuthenticator(origin);
    stranger.register({
      challenge: 'x',
      rp: {},
      user: { id: Buffer.from(randomUUID()).toString('base64url') },
    });
    expectProblem(
      await passkeyLogin(stranger.assert((await loginOptions()).body)),
      401,
      'INVALID_PASSKEY',
    );
    const elsewhere = authenticator.assert((await loginOptions()).body, {
      origin: 'https://evil.example',
    });
    expectProblem(await passkeyLogin(elsewhere), 401, 'INVALID_PASSKEY');
    const tampered = authenticator.assert((await loginOptions()).body);
    tampered.response.signature = Buffer.from(randomBytes(70)).toString('base64url');
    expectProblem(await passkeyLogin(tampered), 401, 'INVALID_PASSKEY');
    // A user-less sign-in needs user verification (a PIN or biometric), not presence alone.
    const presenceOnly = new SoftAuthenticator(origin, false);
    const { authenticator: weak } = await userWithPasskey(presenceOnly);
    expectProblem(await signIn(weak), 401, 'INVALID_PASSKEY');
  });

  it('refuses an assertion without a user handle (username-less sign-in must name its user)', async () => {
    const { authenticator } = await userWithPasskey();
    const options = await loginOptions();
    const assertion = authenticator.assert(options.body);
    const response: Partial<typeof assertion.response> = { ...assertion.response };
    delete response.userHandle;
    expectProblem(await passkeyLogin({ ...assertion, response }), 401, 'INVALID_PASSKEY');
  });

  it('answers 400 VALIDATION_FAILED, never 500, to a credential without its response', async () => {
    const bare = { id: 'a', rawId: 'a', type: 'public-key', clientExtensionResults: {} };
    expectProblem(await passkeyLogin(bare), 400, 'VALIDATION_FAILED');
    const u = await registerAndLogin(api);
    expectProblem(await registerCredential(u.accessToken, bare), 400, 'VALIDATION_FAILED');
    const first = await api.post(
      '/api/auth/reauthenticate',
      { webauthn: bare },
      { token: u.accessToken },
    );
    expectProblem(first, 400, 'VALIDATION_FAILED');
  });

  it('refuses a cloned authenticator: a counter that does not move forward', async () => {
    const { authenticator } = await userWithPasskey();
    expect((await signIn(authenticator)).status).toBe(200); // counter 1
    expect((await signIn(authenticator)).status).toBe(200); // counter 2
    const options = await loginOptions();
    const clone = authenticator.assert(options.body, { counter: 2 });
    expectProblem(await passkeyLogin(clone), 401, 'INVALID_PASSKEY');
    // The real one, still ahead, goes on working.
    expect((await signIn(authenticator)).status).toBe(200);
  });

  it('answers 403 ACCOUNT_DISABLED for a deactivated account', async () => {
    const { u, authenticator } = await userWithPasskey();
    const off = await api.patch(
      `/api/users/${u.user.id}`,
      { active: false },
      { token: adminToken },
    );
    expect(off.status, describeResponse(off)).toBe(200);
    expectProblem(await signIn(authenticator), 403, 'ACCOUNT_DISABLED');
  });
});

describe('second step and step-up with a passkey', () => {
  it('password, then the passkey: tokens with amr pwd+hwk+mfa', async () => {
    const { u, authenticator } = await userWithPasskey();
    const first = await api.post('/api/auth/login', { email: u.email, password: u.password });
    expect(first.body.mfa_required).toBe(true);
    const options = await api.post('/api/auth/mfa/webauthn/options', {
      mfa_token: first.body.mfa_token,
    });
    expect(options.status, describeResponse(options)).toBe(200);
    expect(options.body.allowCredentials).toEqual([
      expect.objectContaining({ id: authenticator.credentials[0].id.toString('base64url') }),
    ]);
    const res = await api.post('/api/auth/mfa/verify', {
      mfa_token: first.body.mfa_token,
      webauthn: authenticator.assert(options.body),
    });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(decodeJwtPart(res.body.access_token, 1)).toMatchObject({
      amr: ['pwd', 'hwk', 'mfa'],
      aal: 2,
    });
    expect(await eventsOf(res, 'mfa.verified')).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ method: 'webauthn' }) }),
    ]);
  });

  it("another user's passkey, or a replayed assertion, is 401 INVALID_PASSKEY and counts as a wrong attempt", async () => {
    const { u } = await userWithPasskey();
    const { authenticator: theirs } = await userWithPasskey();
    const first = await api.post('/api/auth/login', { email: u.email, password: u.password });
    const options = await loginOptions();
    const res = await api.post('/api/auth/mfa/verify', {
      mfa_token: first.body.mfa_token,
      webauthn: theirs.assert(options.body),
    });
    expectProblem(res, 401, 'INVALID_PASSKEY');
    expect(await eventsOf(res, 'mfa.failed')).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ method: 'webauthn' }) }),
    ]);
  });

  it('rejects an mfa_token that is not live for the options (401 INVALID_MFA_TOKEN)', async () => {
    expectProblem(
      await api.post('/api/auth/mfa/webauthn/options', { mfa_token: `${randomUUID()}.nope` }),
      401,
      'INVALID_MFA_TOKEN',
    );
  });

  it('reauthenticates with a passkey, and sends exactly one proof', async () => {
    const { u, authenticator } = await userWithPasskey();
    const options = await loginOptions();
    const res = await api.post(
      '/api/auth/reauthenticate',
      { webauthn: authenticator.assert(options.body) },
      { token: u.accessToken },
    );
    expect(res.status, describeResponse(res)).toBe(204);
    const both = await api.post(
      '/api/auth/reauthenticate',
      { password: u.password, webauthn: authenticator.assert((await loginOptions()).body) },
      { token: u.accessToken },
    );
    expectProblem(both, 400, 'VALIDATION_FAILED');
  });
});

describe('limits and backoff', () => {
  it('limits the sign-in per IP (options and sign-in share it) with 429 and Retry-After', async () => {
    const ip = freshIp();
    let refused: ApiResponse | undefined;
    for (let i = 0; i < IP_LIMIT + 1 && !refused; i++) {
      const res = await loginOptions(ip);
      if (res.status === 429) refused = res;
    }
    expect(refused, 'no 429 within the limit').toBeDefined();
    expectProblem(refused!, 429, 'RATE_LIMITED');
    expect(refused!.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('limits the sign-in per account by the user handle, across IPs', async () => {
    const { authenticator } = await userWithPasskey();
    const statuses: number[] = [];
    for (let i = 0; i < ACCOUNT_LIMIT + 1; i++) {
      const options = await loginOptions();
      const assertion = authenticator.assert(options.body);
      assertion.response.signature = randomBytes(70).toString('base64url');
      statuses.push((await passkeyLogin(assertion)).status);
    }
    expect(statuses.at(-1), statuses.join(',')).toBe(429);
  });

  it('counts failed assertions in the login backoff of the account: then even a good one waits', async () => {
    const { u, authenticator } = await userWithPasskey();
    for (let i = 0; i < BACKOFF_THRESHOLD; i++) {
      const options = await loginOptions();
      const bad = authenticator.assert(options.body);
      bad.response.signature = randomBytes(70).toString('base64url');
      expectProblem(await passkeyLogin(bad), 401, 'INVALID_PASSKEY');
    }
    const locked = await signIn(authenticator);
    expectProblem(locked, 429, 'RATE_LIMITED');
    // The same counter as the password's: the password login waits too.
    const pwd = await api.post(
      '/api/auth/login',
      { email: u.email, password: u.password },
      from(freshIp()),
    );
    expectProblem(pwd, 429, 'RATE_LIMITED');
  });
});

describe('admin reset', () => {
  it('removes the passkeys with the other factors', async () => {
    const { u, authenticator } = await userWithPasskey();
    const reset = await api.delete(`/api/users/${u.user.id}/mfa`, { token: adminToken });
    expect(reset.status, describeResponse(reset)).toBe(204);
    expectProblem(await signIn(authenticator), 401, 'INVALID_PASSKEY');
    const fresh = await login(api, u.email, u.password);
    const list = await api.get('/api/auth/passkeys', { token: fresh.accessToken });
    expect(list.body).toEqual([]);
    await waitForNth(smtp, u.email, 'Two-step sign-in was turned off');
    expect(mailsFor(smtp, u.email, 'Two-step sign-in was turned off')).toHaveLength(1);
  });
});
