// Passkeys (issue 16 part C): registration, the username-less sign-in, the passkey as a
// second factor after the password, the signature counter (a cloned authenticator), the
// removal of a passkey and of the last factor, the step-up, the audit events and emails,
// and the hosted pages, against one server whose PUBLIC_URL is http://localhost:<port>, so
// that the relying party is `localhost` and the pages run at that origin.
//
// Every ceremony is a real one: a Chrome DevTools Protocol virtual authenticator in a page of
// headless Chromium at the server's origin, driven by @simplewebauthn/browser as the server
// serves it (`/vendor/simplewebauthn/index.js`). One page is one device: a virtual
// authenticator belongs to its page. The HTTP requests around a ceremony are sent from Node
// (support/http.ts), so that every answer is checked with the usual helpers and recorded for
// the leak scan; the pages' own requests are exercised by the hosted-pages tests at the end.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTokenResponse, ISO_UTC_RE } from './support/assertions.js';
import { type AuditEvent, eventsOfRequest } from './support/audit.js';
import { launchBrowser, newTestContext, screenshot, type TestContext } from './support/browser.js';
import {
  type LoggedInUser,
  login,
  register,
  registerAndLogin,
  strongPassword,
  uniqueEmail,
} from './support/fixtures.js';
import {
  type Api,
  type ApiResponse,
  decodeJwtPart,
  describeResponse,
  expectProblem,
  findLeaks,
  UUID_RE,
} from './support/http.js';
import { mailsFor, waitForNth } from './support/mail.js';
import { cleanup, freePort, startServer, type TestServer } from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';
import { Authenticator } from './support/totp.js';
import {
  addVirtualAuthenticator,
  base64ToBase64url,
  clientData,
  createCredential,
  getAssertion,
  tryCreateCredential,
  type VirtualAuthenticator,
  WEBAUTHN_BROWSER_MODULE,
  withClientData,
} from './support/webauthn.js';

const FILE = import.meta.filename;
const ADMIN = { email: uniqueEmail('pk-admin'), password: strongPassword() };
const RP_ID = 'localhost';

const SUBJECT = {
  on: 'Two-step sign-in was turned on',
  off: 'Two-step sign-in was turned off',
  added: 'A passkey was added to your account',
  removed: 'A passkey was removed from your account',
} as const;

const RECOVERY_CODE_RE = /^[a-z2-7]{5}-[a-z2-7]{5}$/;
const PASSKEY_FIELDS = [
  'backedUp',
  'createdAt',
  'deviceType',
  'id',
  'lastUsedAt',
  'name',
  'transports',
];
const PASSWORD_CLAIMS = { amr: ['pwd'], aal: 1 };
const PASSKEY_LOGIN_CLAIMS = { amr: ['hwk', 'user', 'mfa'], aal: 2 };
const PASSKEY_SECOND_STEP_CLAIMS = { amr: ['pwd', 'hwk', 'mfa'], aal: 2 };
const TOTP_SECOND_STEP_CLAIMS = { amr: ['pwd', 'otp', 'mfa'], aal: 2 };

let smtp: SmtpSink;
let server: TestServer;
let api: Api;
let browser: Browser;
/** http://localhost:<port>: the pages' origin and the WebAuthn origin. */
let origin: string;
/** The browser profile of the API-level tests' devices (one page each). */
let devices: TestContext;
const contexts: TestContext[] = [];
/** Recovery codes the registrations answered, for the scan of where they appear. */
const issuedRecoveryCodes = new Set<string>();

const me = (token: string) => api.get('/api/auth/me', { token });
const loginRequest = (email: string, password: string) =>
  api.post('/api/auth/login', { email, password });
const refresh = (refreshToken: string) =>
  api.post('/api/auth/refresh', { refresh_token: refreshToken });
const registrationOptions = (token: string) =>
  api.post('/api/auth/passkeys/registration/options', {}, { token });
const finishRegistration = (token: string, body: Record<string, unknown>) =>
  api.post('/api/auth/passkeys/registration', body, { token });
const listPasskeys = (token: string) => api.get('/api/auth/passkeys', { token });
const renamePasskey = (token: string, id: string, name: unknown) =>
  api.patch(`/api/auth/passkeys/${id}`, { name }, { token });
const removePasskey = (token: string, id: string) =>
  api.delete(`/api/auth/passkeys/${id}`, { token });
const loginOptions = () => api.post('/api/auth/passkeys/login/options', {});
const passkeyLoginRequest = (credential: unknown) =>
  api.post('/api/auth/passkeys/login', { credential });
const secondStepOptions = (mfaToken: string) =>
  api.post('/api/auth/mfa/webauthn/options', { mfa_token: mfaToken });
const verify = (body: Record<string, unknown>) => api.post('/api/auth/mfa/verify', body);

let admin: { token: string; at: number } | undefined;
/** An admin access token from a login of the last 5 minutes (admin writes need a recent one). */
async function adminToken(): Promise<string> {
  if (!admin || Date.now() - admin.at > 5 * 60_000) {
    const tokens = await login(api, ADMIN.email, ADMIN.password);
    admin = { token: tokens.accessToken, at: Date.now() };
  }
  return admin.token;
}

/** The one audit event of `type` that the request answered by `res` wrote. */
async function eventOf(res: ApiResponse, type: string): Promise<AuditEvent> {
  const requestId = res.headers.get('x-request-id') ?? '';
  expect(requestId, 'x-request-id').not.toBe('');
  const events = await eventsOfRequest(api, await adminToken(), requestId, { type });
  expect(events, `${type} of ${describeResponse(res)}`).toHaveLength(1);
  return events[0];
}

function claims(accessToken: string): { amr: unknown; aal: unknown } {
  const payload = decodeJwtPart(accessToken);
  return { amr: payload.amr, aal: payload.aal };
}

/** Asserts the normal token response (body transport) and answers its body. */
function expectTokens(res: ApiResponse): any {
  expect(res.status, describeResponse(res)).toBe(200);
  expectTokenResponse(res.body);
  return res.body;
}

/** Asserts a Passkey resource: exactly the contract's fields, with their types. */
function expectPasskey(passkey: any): void {
  expect(passkey, 'passkey').toBeTypeOf('object');
  expect(Object.keys(passkey).sort()).toEqual(PASSKEY_FIELDS);
  expect(passkey.id).toMatch(UUID_RE);
  expect(passkey.name).toBeTypeOf('string');
  expect(passkey.name.length).toBeGreaterThanOrEqual(1);
  expect(passkey.name.length).toBeLessThanOrEqual(64);
  expect(passkey.createdAt).toMatch(ISO_UTC_RE);
  if (passkey.lastUsedAt !== null) expect(passkey.lastUsedAt).toMatch(ISO_UTC_RE);
  expect(['singleDevice', 'multiDevice']).toContain(passkey.deviceType);
  expect(passkey.backedUp).toBeTypeOf('boolean');
  expect(Array.isArray(passkey.transports), 'transports').toBe(true);
  for (const t of passkey.transports) expect(t).toBeTypeOf('string');
}

/** Asserts 10 distinct well-formed recovery codes and answers them. */
function expectRecoveryCodes(codes: unknown): string[] {
  expect(Array.isArray(codes), `recoveryCodes: ${JSON.stringify(codes)}`).toBe(true);
  const list = codes as string[];
  expect(list).toHaveLength(10);
  for (const code of list) expect(code).toMatch(RECOVERY_CODE_RE);
  expect(new Set(list).size).toBe(10);
  for (const code of list) issuedRecoveryCodes.add(code);
  return list;
}

interface MfaState {
  enabled: boolean;
  methods: string[];
  recoveryCodesRemaining: number;
  passkeys: number;
}

/** GET /api/auth/me: `mfaEnabled` and `mfa` (methods compared in any order). */
async function expectMfaState(token: string, expected: MfaState): Promise<void> {
  const res = await me(token);
  expect(res.status, describeResponse(res)).toBe(200);
  expect(res.body.mfaEnabled, 'mfaEnabled').toBe(expected.enabled);
  const mfa = res.body.mfa;
  expect(mfa, 'me.mfa').toBeTypeOf('object');
  expect(Array.isArray(mfa.methods), `me.mfa.methods: ${JSON.stringify(mfa)}`).toBe(true);
  expect({ ...mfa, methods: [...mfa.methods].sort() }).toEqual({
    methods: [...expected.methods].sort(),
    recoveryCodesRemaining: expected.recoveryCodesRemaining,
    passkeys: expected.passkeys,
  });
}

/** A password login of a user with a factor: answers its body (`mfa_token`, `methods`). */
async function mfaRequired(u: { email: string; password: string }): Promise<any> {
  const res = await loginRequest(u.email, u.password);
  expect(res.status, describeResponse(res)).toBe(200);
  expect(res.body.mfa_required, describeResponse(res)).toBe(true);
  expect(res.body.mfa_token).toBeTypeOf('string');
  expect(res.text).not.toMatch(/access_token|refresh_token/);
  return res.body;
}

const userHandleOf = (userId: string) => Buffer.from(userId, 'utf8').toString('base64url');
const freshChallenge = () => randomBytes(32).toString('base64url');

/** One device: a page at the server's origin with its own virtual authenticator. */
interface Device {
  page: Page;
  authenticator: VirtualAuthenticator;
}

async function open(): Promise<TestContext> {
  const context = await newTestContext(browser, origin);
  contexts.push(context);
  return context;
}

async function newDevice(): Promise<Device> {
  const page = await devices.newPage();
  await page.goto('/login');
  expect(new URL(page.url()).origin).toBe(origin);
  return { page, authenticator: await addVirtualAuthenticator(page) };
}

/** Registration options, the ceremony on `device`, and the registration request. */
async function addPasskey(token: string, device: Device, name?: string) {
  const optionsRes = await registrationOptions(token);
  expect(optionsRes.status, describeResponse(optionsRes)).toBe(200);
  const credential = await createCredential(device.page, optionsRes.body);
  const res = await finishRegistration(
    token,
    name === undefined ? { credential } : { credential, name },
  );
  if (res.status === 201 && res.body.recoveryCodes) expectRecoveryCodes(res.body.recoveryCodes);
  return { options: optionsRes.body, credential, res };
}

/** Username-less sign-in: options, the ceremony on `device`, the login request. */
async function passkeyLogin(device: Device) {
  const optionsRes = await loginOptions();
  expect(optionsRes.status, describeResponse(optionsRes)).toBe(200);
  const credential = await getAssertion(device.page, optionsRes.body);
  const res = await passkeyLoginRequest(credential);
  return { options: optionsRes.body, credential, res };
}

interface PasskeyUser extends LoggedInUser {
  device: Device;
  passkey: any;
  /** The credential id (base64url) the authenticator made. */
  credentialId: string;
  recoveryCodes: string[];
}

/** A new user whose first (and only) factor is a passkey on a device of its own. */
async function passkeyUser(name = 'Laptop'): Promise<PasskeyUser> {
  const u = await registerAndLogin(api);
  const device = await newDevice();
  const { res, credential } = await addPasskey(u.accessToken, device, name);
  expect(res.status, describeResponse(res)).toBe(201);
  return {
    ...u,
    device,
    passkey: res.body.passkey,
    credentialId: credential.id,
    recoveryCodes: expectRecoveryCodes(res.body.recoveryCodes),
  };
}

describe('passkeys', () => {
  beforeAll(async () => {
    smtp = await startSmtpSink();
    const port = await freePort();
    origin = `http://localhost:${port}`;
    // APP_URL unset: it defaults to PUBLIC_URL. The RP ID and origin default to PUBLIC_URL's.
    [server, browser] = await Promise.all([
      startServer({
        port,
        env: {
          SMTP_URL: smtp.url,
          PUBLIC_URL: origin,
          ADMIN_EMAIL: ADMIN.email,
          ADMIN_PASSWORD: ADMIN.password,
        },
      }),
      launchBrowser(),
    ]);
    api = server.api;
    devices = await open();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await cleanup();
    await smtp?.stop();
  });

  describe('0. the browser library', () => {
    it('is served at /vendor/simplewebauthn/index.js as JavaScript', async () => {
      const res = await api.get(WEBAUTHN_BROWSER_MODULE);
      expect(res.status, describeResponse(res)).toBe(200);
      expect(res.headers.get('content-type') ?? '').toMatch(/javascript/);
      expect(res.text).toContain('startRegistration');
      expect(res.text).toContain('startAuthentication');
    });
  });

  describe('1. registration', { timeout: 90_000 }, () => {
    it('options: RP localhost, the user id, a discoverable credential, nothing to exclude yet, a new challenge each time', async () => {
      const u = await registerAndLogin(api);
      const res = await registrationOptions(u.accessToken);
      expect(res.status, describeResponse(res)).toBe(200);
      const o = res.body;
      expect(o.rp).toEqual({ id: RP_ID, name: 'authkit' }); // WEBAUTHN_RP_NAME: MFA_ISSUER
      expect(o.user.id).toMatch(/^[\w-]+$/);
      expect(Buffer.from(o.user.id, 'base64url').toString('utf8')).toBe(u.user.id);
      expect(o.authenticatorSelection).toMatchObject({
        residentKey: 'required',
        userVerification: 'preferred',
      });
      expect(o.excludeCredentials ?? []).toEqual([]);
      expect(o.challenge).toMatch(/^[\w-]+$/);
      expect(Buffer.from(o.challenge, 'base64url').length).toBeGreaterThanOrEqual(16);
      expect(o.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toContain(-7);

      const again = await registrationOptions(u.accessToken);
      expect(again.status, describeResponse(again)).toBe(200);
      expect(again.body.challenge).not.toBe(o.challenge);
      expectProblem(
        await api.post('/api/auth/passkeys/registration/options', {}),
        401,
        'UNAUTHORIZED',
      );
    });

    it('the first passkey: 201 with 10 recovery codes, listed, two-step sign-in on, passkey.added, an email', async () => {
      const u = await registerAndLogin(api);
      const device = await newDevice();
      const { res, credential } = await addPasskey(u.accessToken, device, 'Laptop');
      expect(res.status, describeResponse(res)).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['passkey', 'recoveryCodes']);
      const passkey = res.body.passkey;
      expectPasskey(passkey);
      // A platform authenticator of this device only, as the virtual one says.
      expect(passkey).toMatchObject({
        name: 'Laptop',
        lastUsedAt: null,
        deviceType: 'singleDevice',
        backedUp: false,
        transports: ['internal'],
      });
      const codes = expectRecoveryCodes(res.body.recoveryCodes);

      // The authenticator holds a discoverable credential for localhost and this user.
      const held = await device.authenticator.credentials();
      expect(held).toHaveLength(1);
      expect(base64ToBase64url(held[0].credentialId)).toBe(credential.id);
      expect(held[0]).toMatchObject({ isResidentCredential: true, rpId: RP_ID });
      expect(base64ToBase64url(held[0].userHandle ?? '')).toBe(userHandleOf(u.user.id));

      const list = await listPasskeys(u.accessToken);
      expect(list.status, describeResponse(list)).toBe(200);
      expect(list.body).toEqual([passkey]);
      await expectMfaState(u.accessToken, {
        enabled: true,
        methods: ['webauthn'],
        recoveryCodesRemaining: 10,
        passkeys: 1,
      });
      expect(await eventOf(res, 'passkey.added')).toMatchObject({
        userId: u.user.id,
        actorId: u.user.id,
      });
      await waitForNth(smtp, u.email, SUBJECT.on);

      // The password alone no longer signs in.
      const step = await mfaRequired(u);
      expect(step.methods).toContain('webauthn');
      expect(step.methods).toContain('recovery_code');
      expect(step.methods).not.toContain('totp');
      // The recovery codes it answered are this account's.
      const body = expectTokens(
        await verify({ mfa_token: step.mfa_token, recoveryCode: codes[0] }),
      );
      expect(body.user.id).toBe(u.user.id);
      expect(body.user.mfaEnabled).toBe(true);
      await expectMfaState(body.access_token, {
        enabled: true,
        methods: ['webauthn'],
        recoveryCodesRemaining: 9,
        passkeys: 1,
      });
    });

    it('a second passkey on another authenticator: the first is excluded, no recovery codes, "A passkey was added"', async () => {
      const u = await passkeyUser('Laptop');
      await waitForNth(smtp, u.email, SUBJECT.on);
      const phone = await newDevice();
      const { options, res, credential } = await addPasskey(u.accessToken, phone, 'Phone');
      expect(options.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([u.credentialId]);
      expect(res.status, describeResponse(res)).toBe(201);
      expect(Object.keys(res.body)).toEqual(['passkey']);
      expectPasskey(res.body.passkey);
      expect(res.body.passkey.name).toBe('Phone');
      expect(res.body.passkey.id).not.toBe(u.passkey.id);

      const list = await listPasskeys(u.accessToken);
      expect(list.status, describeResponse(list)).toBe(200);
      // Newest first.
      expect(list.body.map((p: { id: string }) => p.id)).toEqual([
        res.body.passkey.id,
        u.passkey.id,
      ]);
      for (const p of list.body) expectPasskey(p);
      await expectMfaState(u.accessToken, {
        enabled: true,
        methods: ['webauthn'],
        recoveryCodesRemaining: 10,
        passkeys: 2,
      });
      expect(await eventOf(res, 'passkey.added')).toMatchObject({ userId: u.user.id });
      await waitForNth(smtp, u.email, SUBJECT.added);
      expect(mailsFor(smtp, u.email, SUBJECT.on)).toHaveLength(1);

      // The first authenticator refuses to make a second credential: it is excluded.
      const again = await registrationOptions(u.accessToken);
      expect(again.status, describeResponse(again)).toBe(200);
      expect(again.body.excludeCredentials.map((c: { id: string }) => c.id).sort()).toEqual(
        [u.credentialId, credential.id].sort(),
      );
      const refused = await tryCreateCredential(u.device.page, again.body);
      expect(refused).toMatchObject({ ok: false, name: 'InvalidStateError' });
    });

    it('refuses what does not answer a challenge it issued: unknown challenge, another origin, a replay; and bad shapes', async () => {
      const u = await registerAndLogin(api);
      const device = await newDevice();
      const issued = await registrationOptions(u.accessToken);
      expect(issued.status, describeResponse(issued)).toBe(200);

      // A challenge the server never issued.
      const forged = await createCredential(device.page, {
        ...issued.body,
        challenge: freshChallenge(),
      });
      expectProblem(
        await finishRegistration(u.accessToken, { credential: forged }),
        400,
        'PASSKEY_REJECTED',
      );
      // The issued challenge, but a clientDataJSON of another origin.
      const genuine = await createCredential(device.page, issued.body);
      expect(clientData(genuine)).toMatchObject({
        type: 'webauthn.create',
        challenge: issued.body.challenge,
        origin,
      });
      expectProblem(
        await finishRegistration(u.accessToken, {
          credential: withClientData(genuine, { origin: 'https://evil.example' }),
        }),
        400,
        'PASSKEY_REJECTED',
      );
      for (const body of [
        {},
        { credential: 'not a credential' },
        { credential: {} },
        { credential: genuine, name: '' },
        { credential: genuine, name: 'x'.repeat(65) },
      ]) {
        expectProblem(await finishRegistration(u.accessToken, body), 400, 'VALIDATION_FAILED');
      }
      expectProblem(
        await api.post('/api/auth/passkeys/registration', { credential: genuine }),
        401,
        'UNAUTHORIZED',
      );
      let list = await listPasskeys(u.accessToken);
      expect(list.body).toEqual([]);
      await expectMfaState(u.accessToken, {
        enabled: false,
        methods: [],
        recoveryCodesRemaining: 0,
        passkeys: 0,
      });

      // A genuine registration works; the same response again is refused.
      const ok = await addPasskey(u.accessToken, device, 'Key');
      expect(ok.res.status, describeResponse(ok.res)).toBe(201);
      const replay = await finishRegistration(u.accessToken, { credential: ok.credential });
      expect(['400 PASSKEY_REJECTED', '409 PASSKEY_EXISTS']).toContain(
        `${replay.status} ${expectProblem(replay, replay.status).code}`,
      );
      list = await listPasskeys(u.accessToken);
      expect(list.body.map((p: { id: string }) => p.id)).toEqual([ok.res.body.passkey.id]);
    });

    it("rename: PATCH answers the passkey with its new name; 404 NOT_FOUND for an unknown id and for another user's", async () => {
      const u = await passkeyUser('Laptop');
      const other = await passkeyUser('Theirs');
      const res = await renamePasskey(u.accessToken, u.passkey.id, 'Work laptop');
      expect(res.status, describeResponse(res)).toBe(200);
      expectPasskey(res.body);
      expect(res.body).toEqual({ ...u.passkey, name: 'Work laptop' });
      expect((await listPasskeys(u.accessToken)).body).toEqual([res.body]);

      expectProblem(await renamePasskey(u.accessToken, randomUUID(), 'Nope'), 404, 'NOT_FOUND');
      expectProblem(
        await renamePasskey(u.accessToken, other.passkey.id, 'Mine now'),
        404,
        'NOT_FOUND',
      );
      expect((await listPasskeys(other.accessToken)).body).toEqual([other.passkey]);
      for (const name of ['', 'x'.repeat(65), 42]) {
        expectProblem(
          await renamePasskey(u.accessToken, u.passkey.id, name),
          400,
          'VALIDATION_FAILED',
        );
      }
      expectProblem(await removePasskey(u.accessToken, randomUUID()), 404, 'NOT_FOUND');
      expectProblem(await removePasskey(u.accessToken, other.passkey.id), 404, 'NOT_FOUND');
      expect((await listPasskeys(other.accessToken)).body).toEqual([other.passkey]);
      for (const unauthenticated of [
        await api.get('/api/auth/passkeys'),
        await api.patch(`/api/auth/passkeys/${u.passkey.id}`, { name: 'x' }),
        await api.delete(`/api/auth/passkeys/${u.passkey.id}`),
      ]) {
        expectProblem(unauthenticated, 401, 'UNAUTHORIZED');
      }
      expect((await listPasskeys(u.accessToken)).body).toEqual([res.body]);
    });
  });

  describe('2. username-less sign-in', { timeout: 90_000 }, () => {
    it('options: RP localhost, user verification required, no allowCredentials, a new challenge each time', async () => {
      const res = await loginOptions();
      expect(res.status, describeResponse(res)).toBe(200);
      expect(res.body.rpId).toBe(RP_ID);
      expect(res.body.userVerification).toBe('required');
      expect(res.body.allowCredentials ?? []).toEqual([]);
      expect(res.body.challenge).toMatch(/^[\w-]+$/);
      expect(Buffer.from(res.body.challenge, 'base64url').length).toBeGreaterThanOrEqual(16);
      const again = await loginOptions();
      expect(again.body.challenge).not.toBe(res.body.challenge);
    });

    it('signs in with the passkey alone: tokens with amr hwk user mfa and aal 2, passkey.login, user.login', async () => {
      const u = await passkeyUser();
      const { res, credential } = await passkeyLogin(u.device);
      expect(credential.id).toBe(u.credentialId);
      expect(credential.response.userHandle).toBe(userHandleOf(u.user.id));
      const body = expectTokens(res);
      expect(body.user.id).toBe(u.user.id);
      expect(body.user.mfaEnabled).toBe(true);
      expect(claims(body.access_token)).toEqual(PASSKEY_LOGIN_CLAIMS);
      await expectMfaState(body.access_token, {
        enabled: true,
        methods: ['webauthn'],
        recoveryCodesRemaining: 10,
        passkeys: 1,
      });
      // The session keeps its claims when refreshed.
      const refreshed = expectTokens(await refresh(body.refresh_token));
      expect(claims(refreshed.access_token)).toEqual(PASSKEY_LOGIN_CLAIMS);

      const [listed] = (await listPasskeys(body.access_token)).body;
      expect(listed.id).toBe(u.passkey.id);
      expect(listed.lastUsedAt).toMatch(ISO_UTC_RE);
      expect(Date.parse(listed.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(u.passkey.createdAt));

      expect(await eventOf(res, 'passkey.login')).toMatchObject({ userId: u.user.id });
      expect(await eventOf(res, 'user.login')).toMatchObject({
        userId: u.user.id,
        metadata: { method: 'passkey' },
      });

      // The challenge is single use: the same assertion again is refused.
      expectProblem(await passkeyLoginRequest(credential), 401, 'INVALID_PASSKEY');
    });

    it('refuses an assertion for a challenge it never issued, or of another origin, or by a credential it does not know', async () => {
      const u = await passkeyUser();
      const forged = await getAssertion(u.device.page, {
        challenge: freshChallenge(),
        rpId: RP_ID,
        userVerification: 'required',
        timeout: 60_000,
      });
      expect(forged.id).toBe(u.credentialId);
      expectProblem(await passkeyLoginRequest(forged), 401, 'INVALID_PASSKEY');

      const issued = await loginOptions();
      const genuine = await getAssertion(u.device.page, issued.body);
      expect(clientData(genuine)).toMatchObject({
        type: 'webauthn.get',
        challenge: issued.body.challenge,
        origin,
      });
      expectProblem(
        await passkeyLoginRequest(withClientData(genuine, { origin: 'https://evil.example' })),
        401,
        'INVALID_PASSKEY',
      );

      // A discoverable credential for localhost that was never registered.
      const stranger = await newDevice();
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await stranger.authenticator.addCredential({
        credentialId: randomBytes(32).toString('base64'),
        isResidentCredential: true,
        rpId: RP_ID,
        privateKey: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
        userHandle: Buffer.from(u.user.id, 'utf8').toString('base64'),
        signCount: 0,
      });
      expectProblem((await passkeyLogin(stranger)).res, 401, 'INVALID_PASSKEY');

      for (const body of [{}, { credential: 'x' }, { credential: {} }]) {
        expectProblem(await api.post('/api/auth/passkeys/login', body), 400, 'VALIDATION_FAILED');
      }
      // None of that harmed the passkey.
      expectTokens((await passkeyLogin(u.device)).res);
    });

    it('refuses a deactivated account with 403 ACCOUNT_DISABLED', async () => {
      const u = await passkeyUser();
      const off = await api.patch(
        `/api/users/${u.user.id}`,
        { active: false },
        { token: await adminToken() },
      );
      expect(off.status, describeResponse(off)).toBe(200);
      expectProblem((await passkeyLogin(u.device)).res, 403, 'ACCOUNT_DISABLED');
    });
  });

  describe('3. the passkey as the second step after the password', { timeout: 90_000 }, () => {
    it("webauthn/options lists the user's passkeys; /mfa/verify answers tokens with amr pwd hwk mfa", async () => {
      const u = await passkeyUser('Laptop');
      const phone = await newDevice();
      const second = await addPasskey(u.accessToken, phone, 'Phone');
      expect(second.res.status, describeResponse(second.res)).toBe(201);

      const step = await mfaRequired(u);
      const options = await secondStepOptions(step.mfa_token);
      expect(options.status, describeResponse(options)).toBe(200);
      expect(options.body.rpId).toBe(RP_ID);
      expect(options.body.challenge).toMatch(/^[\w-]+$/);
      expect(options.body.allowCredentials.map((c: { id: string }) => c.id).sort()).toEqual(
        [u.credentialId, second.credential.id].sort(),
      );

      const assertion = await getAssertion(u.device.page, options.body);
      expect(assertion.id).toBe(u.credentialId);
      const res = await verify({ mfa_token: step.mfa_token, webauthn: assertion });
      const body = expectTokens(res);
      expect(body.user.id).toBe(u.user.id);
      expect(claims(body.access_token)).toEqual(PASSKEY_SECOND_STEP_CLAIMS);
      expect((await me(body.access_token)).status).toBe(200);
      // The mfa_token is spent.
      expectProblem(
        await verify({ mfa_token: step.mfa_token, webauthn: assertion }),
        401,
        'INVALID_MFA_TOKEN',
      );

      // The other device works as well.
      const next = await mfaRequired(u);
      const nextOptions = await secondStepOptions(next.mfa_token);
      const fromPhone = await getAssertion(phone.page, nextOptions.body);
      expect(fromPhone.id).toBe(second.credential.id);
      const phoneBody = expectTokens(
        await verify({ mfa_token: next.mfa_token, webauthn: fromPhone }),
      );
      expect(claims(phoneBody.access_token)).toEqual(PASSKEY_SECOND_STEP_CLAIMS);
    });

    it('refuses an assertion for another challenge, two answers at once, and an unknown mfa_token', async () => {
      const u = await passkeyUser();
      const step = await mfaRequired(u);
      const options = await secondStepOptions(step.mfa_token);
      expect(options.status, describeResponse(options)).toBe(200);

      // Signed by the right passkey, but for a challenge the server never issued.
      const forged = await getAssertion(u.device.page, {
        ...options.body,
        challenge: freshChallenge(),
      });
      const refused = await verify({ mfa_token: step.mfa_token, webauthn: forged });
      expect([400, 401], describeResponse(refused)).toContain(refused.status);
      expectProblem(refused, refused.status);
      expect(refused.text).not.toMatch(/access_token/);

      const assertion = await getAssertion(u.device.page, options.body);
      for (const body of [
        { mfa_token: step.mfa_token, webauthn: assertion, code: '123456' },
        { mfa_token: step.mfa_token, webauthn: assertion, recoveryCode: u.recoveryCodes[0] },
        { mfa_token: step.mfa_token, webauthn: 'x' },
      ]) {
        expectProblem(await verify(body), 400, 'VALIDATION_FAILED');
      }
      expectProblem(
        await secondStepOptions(randomBytes(32).toString('base64url')),
        401,
        'INVALID_MFA_TOKEN',
      );
      // A fresh login still completes with the passkey.
      const again = await mfaRequired(u);
      const againOptions = await secondStepOptions(again.mfa_token);
      expectTokens(
        await verify({
          mfa_token: again.mfa_token,
          webauthn: await getAssertion(u.device.page, againOptions.body),
        }),
      );
    });

    it('a user with TOTP adds a passkey: no new recovery codes, both methods, and removing it leaves TOTP on', async () => {
      const u = await registerAndLogin(api);
      const enrol = await api.post(
        '/api/auth/mfa/totp',
        { password: u.password },
        { token: u.accessToken },
      );
      expect(enrol.status, describeResponse(enrol)).toBe(200);
      const totp = new Authenticator(enrol.body.secret);
      const confirmed = await api.post(
        '/api/auth/mfa/totp/confirm',
        { code: await totp.fresh() },
        { token: u.accessToken },
      );
      expect(confirmed.status, describeResponse(confirmed)).toBe(200);
      expectRecoveryCodes(confirmed.body.recoveryCodes);
      await waitForNth(smtp, u.email, SUBJECT.on);

      const device = await newDevice();
      const { res } = await addPasskey(u.accessToken, device, 'Laptop');
      expect(res.status, describeResponse(res)).toBe(201);
      expect(Object.keys(res.body)).toEqual(['passkey']);
      await waitForNth(smtp, u.email, SUBJECT.added);
      expect(mailsFor(smtp, u.email, SUBJECT.on)).toHaveLength(1);
      await expectMfaState(u.accessToken, {
        enabled: true,
        methods: ['totp', 'webauthn'],
        recoveryCodesRemaining: 10,
        passkeys: 1,
      });

      const step = await mfaRequired(u);
      expect(step.methods).toEqual(expect.arrayContaining(['totp', 'webauthn', 'recovery_code']));
      const byCode = expectTokens(
        await verify({ mfa_token: step.mfa_token, code: await totp.fresh() }),
      );
      expect(claims(byCode.access_token)).toEqual(TOTP_SECOND_STEP_CLAIMS);
      const step2 = await mfaRequired(u);
      const options = await secondStepOptions(step2.mfa_token);
      const byKey = expectTokens(
        await verify({
          mfa_token: step2.mfa_token,
          webauthn: await getAssertion(device.page, options.body),
        }),
      );
      expect(claims(byKey.access_token)).toEqual(PASSKEY_SECOND_STEP_CLAIMS);

      const removed = await removePasskey(byKey.access_token, res.body.passkey.id);
      expect(removed.status, describeResponse(removed)).toBe(204);
      await waitForNth(smtp, u.email, SUBJECT.removed);
      await expectMfaState(byKey.access_token, {
        enabled: true,
        methods: ['totp'],
        recoveryCodesRemaining: 10,
        passkeys: 0,
      });
      const after = await mfaRequired(u);
      expect(after.methods).toContain('totp');
      expect(after.methods).not.toContain('webauthn');
      expect(mailsFor(smtp, u.email, SUBJECT.off)).toHaveLength(0);
    });
  });

  describe('4. the signature counter', { timeout: 90_000 }, () => {
    it("stores the authenticator's counter and refuses an assertion that does not exceed it", async () => {
      const u = await passkeyUser();
      expectTokens((await passkeyLogin(u.device)).res);
      const [held] = await u.device.authenticator.credentials();
      expect(held.signCount).toBeGreaterThanOrEqual(1);
      const counterOf = async () => {
        const rows = await server.db.query<{ counter: string }>(
          'SELECT counter FROM passkeys WHERE id = $1',
          [u.passkey.id],
        );
        expect(rows).toHaveLength(1);
        return Number(rows[0].counter);
      };
      expect(await counterOf()).toBe(held.signCount);

      // As if another copy of the key had signed many times since.
      const ahead = held.signCount + 1000;
      await server.db.query('UPDATE passkeys SET counter = $1 WHERE id = $2', [
        ahead,
        u.passkey.id,
      ]);
      expectProblem((await passkeyLogin(u.device)).res, 401, 'INVALID_PASSKEY');
      expect(await counterOf()).toBe(ahead);

      await server.db.query('UPDATE passkeys SET counter = 0 WHERE id = $1', [u.passkey.id]);
      expectTokens((await passkeyLogin(u.device)).res);
      const [after] = await u.device.authenticator.credentials();
      expect(await counterOf()).toBe(after.signCount);
    });

    it('refuses a cloned authenticator whose counter is behind, and the original once a clone got ahead', async () => {
      const u = await passkeyUser();
      expectTokens((await passkeyLogin(u.device)).res);
      const [original] = await u.device.authenticator.credentials();
      expect(original.signCount).toBeGreaterThanOrEqual(1);

      // The same private key in another authenticator, with its counter back at 0.
      const behind = await newDevice();
      await behind.authenticator.addCredential({ ...original, signCount: 0 });
      const cloned = await passkeyLogin(behind);
      expect(cloned.credential.id).toBe(u.credentialId);
      expectProblem(cloned.res, 401, 'INVALID_PASSKEY');
      // The original still signs in.
      expectTokens((await passkeyLogin(u.device)).res);

      // A copy that runs ahead is accepted (the server cannot tell it from the original)...
      const [now] = await u.device.authenticator.credentials();
      const ahead = await newDevice();
      await ahead.authenticator.addCredential({ ...now, signCount: now.signCount + 100 });
      expectTokens((await passkeyLogin(ahead)).res);
      // ...and then the original is the one behind.
      expectProblem((await passkeyLogin(u.device)).res, 401, 'INVALID_PASSKEY');
    });
  });

  describe('5. removal', { timeout: 90_000 }, () => {
    it('removes one passkey, then the last one, which turns two-step sign-in off and drops the recovery codes', async () => {
      const u = await passkeyUser('Laptop');
      const phone = await newDevice();
      const second = await addPasskey(u.accessToken, phone, 'Phone');
      expect(second.res.status, describeResponse(second.res)).toBe(201);

      // A fresh session: a sign-in with the phone's passkey.
      const session = expectTokens((await passkeyLogin(phone)).res);
      const token = session.access_token as string;
      const res = await removePasskey(token, u.passkey.id);
      expect(res.status, describeResponse(res)).toBe(204);
      expect(res.text).toBe('');
      expect(await eventOf(res, 'passkey.removed')).toMatchObject({
        userId: u.user.id,
        actorId: u.user.id,
      });
      await waitForNth(smtp, u.email, SUBJECT.removed);
      expect((await listPasskeys(token)).body.map((p: { id: string }) => p.id)).toEqual([
        second.res.body.passkey.id,
      ]);
      await expectMfaState(token, {
        enabled: true,
        methods: ['webauthn'],
        recoveryCodesRemaining: 10,
        passkeys: 1,
      });
      expectProblem((await passkeyLogin(u.device)).res, 401, 'INVALID_PASSKEY');
      await mfaRequired(u);
      expectProblem(await removePasskey(token, u.passkey.id), 404, 'NOT_FOUND');

      // The last factor.
      const last = await removePasskey(token, second.res.body.passkey.id);
      expect(last.status, describeResponse(last)).toBe(204);
      expect(await eventOf(last, 'passkey.removed')).toMatchObject({ userId: u.user.id });
      await waitForNth(smtp, u.email, SUBJECT.off);
      await expectMfaState(token, {
        enabled: false,
        methods: [],
        recoveryCodesRemaining: 0,
        passkeys: 0,
      });
      expect((await listPasskeys(token)).body).toEqual([]);
      expectProblem((await passkeyLogin(phone)).res, 401, 'INVALID_PASSKEY');
      const direct = expectTokens(await loginRequest(u.email, u.password));
      expect(direct.user.mfaEnabled).toBe(false);
      expect(claims(direct.access_token)).toEqual(PASSWORD_CLAIMS);

      // A passkey again is a first factor again: new recovery codes, none of the old ones.
      const again = await addPasskey(direct.access_token, phone, 'Phone again');
      expect(again.res.status, describeResponse(again.res)).toBe(201);
      const fresh = expectRecoveryCodes(again.res.body.recoveryCodes);
      expect(fresh.filter((code) => u.recoveryCodes.includes(code))).toEqual([]);
      const step = await mfaRequired(u);
      const old = await verify({ mfa_token: step.mfa_token, recoveryCode: u.recoveryCodes[1] });
      expectProblem(old, 400, 'INVALID_CODE');
    });

    it('the admin reset (DELETE /api/users/:id/mfa) removes the passkeys too', async () => {
      const u = await passkeyUser();
      const res = await api.delete(`/api/users/${u.user.id}/mfa`, { token: await adminToken() });
      expect(res.status, describeResponse(res)).toBe(204);
      expectProblem((await passkeyLogin(u.device)).res, 401, 'INVALID_PASSKEY');
      const direct = expectTokens(await loginRequest(u.email, u.password));
      expect((await listPasskeys(direct.access_token)).body).toEqual([]);
      await expectMfaState(direct.access_token, {
        enabled: false,
        methods: [],
        recoveryCodesRemaining: 0,
        passkeys: 0,
      });
    });
  });

  describe('step-up with a passkey', { timeout: 90_000 }, () => {
    it("POST /api/auth/reauthenticate { webauthn } accepts the caller's passkey, not another user's", async () => {
      const u = await passkeyUser();
      const other = await passkeyUser();
      const options = await loginOptions();
      const assertion = await getAssertion(u.device.page, options.body);
      const res = await api.post(
        '/api/auth/reauthenticate',
        { webauthn: assertion },
        { token: u.accessToken },
      );
      expect(res.status, describeResponse(res)).toBe(204);

      const otherOptions = await loginOptions();
      const foreign = await getAssertion(other.device.page, otherOptions.body);
      const refused = await api.post(
        '/api/auth/reauthenticate',
        { webauthn: foreign },
        { token: u.accessToken },
      );
      expect([400, 401, 403], describeResponse(refused)).toContain(refused.status);
      expectProblem(refused, refused.status);
    });
  });

  describe('7. the hosted pages', { timeout: 120_000 }, () => {
    const person = { email: uniqueEmail('pk-page'), password: strongPassword() };
    const NAME = 'My laptop';
    let ctx: TestContext;
    let page: Page;
    let authenticator: VirtualAuthenticator;
    const item = () => page.locator('#passkeys-list > li', { hasText: NAME });

    async function signIn(identifier: string, password: string): Promise<void> {
      if (new URL(page.url()).pathname !== '/login') await page.goto('/login');
      await page.getByLabel('Email or username').fill(identifier);
      await page.getByLabel('Password', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    }

    async function onAccount(): Promise<void> {
      await page.waitForURL((url) => url.pathname === '/account');
      await page.locator('#account').waitFor();
      await expect.poll(() => page.locator('#nav-user').textContent()).toBe(person.email);
    }

    async function signOut(): Promise<void> {
      await page.locator('#nav-logout').click();
      await page.waitForURL((url) => url.pathname === '/login');
    }

    /** Until `done` shows; answers the password prompt if the page asks for one on the way. */
    async function confirmingPassword(done: () => Promise<boolean>): Promise<void> {
      const prompt = page.locator('#reauth-password');
      await expect
        .poll(async () => (await done()) || (await prompt.isVisible()), { timeout: 20_000 })
        .toBe(true);
      if (!(await done()) && (await prompt.isVisible())) {
        await prompt.fill(person.password);
        await page.getByRole('button', { name: 'Confirm', exact: true }).click();
      }
      await expect.poll(done, { timeout: 20_000 }).toBe(true);
    }

    beforeAll(async () => {
      await register(api, person);
      ctx = await open();
      page = await ctx.newPage();
      // A window.confirm() before a removal is answered yes (Playwright would dismiss it).
      page.on('dialog', (dialog) => void dialog.accept());
      await page.goto('/login');
      authenticator = await addVirtualAuthenticator(page);
    });

    it('adds a passkey on /account and lists it', async () => {
      await signIn(person.email, person.password);
      await onAccount();
      await page.locator('#passkeys-card').waitFor();
      await page.locator('#passkey-name').fill(NAME);
      await page.locator('#passkey-add').click();
      await confirmingPassword(async () => (await item().count()) === 1);
      await expect.poll(() => authenticator.credentials().then((c) => c.length)).toBe(1);
      const [held] = await authenticator.credentials();
      expect(held.rpId).toBe(RP_ID);
      expect(
        await item()
          .getByRole('button', { name: /Rename/ })
          .count(),
      ).toBe(1);
      expect(
        await item()
          .getByRole('button', { name: /Remove/ })
          .count(),
      ).toBe(1);
      // The first factor: the page shows the ten recovery codes the registration answered.
      const shown = page.locator('#recovery-codes li');
      await expect.poll(() => shown.count()).toBe(10);
      for (const code of await shown.allTextContents())
        expect(code.trim()).toMatch(RECOVERY_CODE_RE);
      await screenshot(page, FILE, '01-passkey-added');
      // The API agrees: the password alone no longer signs in.
      expect((await mfaRequired(person)).methods).toContain('webauthn');
      await waitForNth(smtp, person.email, SUBJECT.on);
    });

    it('signs out, then signs in with the passkey alone, no password typed', async () => {
      await signOut();
      await page.locator('#passkey-login').waitFor();
      expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
      await screenshot(page, FILE, '02-login-with-passkey-button');
      await page.locator('#passkey-login').click();
      await onAccount();
      await expect.poll(() => item().count()).toBe(1);
      await screenshot(page, FILE, '03-signed-in-by-passkey');
    });

    it('after the password, the second step offers the passkey, which completes it', async () => {
      await signOut();
      await signIn(person.email, person.password);
      await page.locator('#mfa-form').waitFor();
      const button = page.locator('#mfa-passkey');
      await button.waitFor();
      expect((await button.textContent())?.trim()).toBe('Use a passkey');
      await screenshot(page, FILE, '04-second-step');
      await button.click();
      await onAccount();
    });

    it('removes the passkey on /account; the password alone signs in again', async () => {
      await item()
        .getByRole('button', { name: /Remove/ })
        .click();
      // A confirmation inside the item, if the page asks for one there.
      const confirm = item().getByRole('button', { name: /^Confirm/ });
      const prompt = page.locator('#reauth-password');
      await expect
        .poll(
          async () =>
            (await item().count()) === 0 ||
            (await confirm.count()) > 0 ||
            (await prompt.isVisible()),
        )
        .toBe(true);
      if ((await confirm.count()) > 0) await confirm.first().click();
      await confirmingPassword(async () => (await item().count()) === 0);
      await screenshot(page, FILE, '05-passkey-removed');
      expectTokens(await loginRequest(person.email, person.password));
      await waitForNth(smtp, person.email, SUBJECT.off);
    });

    it('broke no Content-Security-Policy rule and threw no script error on any page', () => {
      expect(contexts.length).toBeGreaterThanOrEqual(2);
      for (const { problems } of contexts) {
        expect(problems.csp).toEqual([]);
        expect(problems.errors).toEqual([]);
      }
    });
  });

  describe('secrets stay secret', () => {
    it('no response contained a password hash, a token hash or a stack trace', () => {
      expect(findLeaks(api)).toEqual([]);
    });

    it('recovery codes appear only in the response that issued them, never in a log line or an email', () => {
      expect(issuedRecoveryCodes.size).toBeGreaterThan(50);
      const issuing = (r: { method: string; path: string; status: number }) =>
        r.method === 'POST' &&
        ((r.path === '/api/auth/passkeys/registration' && r.status === 201) ||
          (r.path === '/api/auth/mfa/totp/confirm' && r.status === 200));
      const leaks = api.history
        .filter((r) => !issuing(r))
        .filter((r) => [...issuedRecoveryCodes].some((c) => r.text.includes(c)))
        .map((r) => `${r.method} ${r.path} ${r.status}`);
      expect(leaks).toEqual([]);
      const inLogs = server.logs.filter((line) =>
        [...issuedRecoveryCodes].some((c) => line.includes(c)),
      );
      expect(inLogs).toEqual([]);
      const inMails = smtp.messages.filter((m) =>
        [...issuedRecoveryCodes].some((c) => `${m.text}\n${m.html}`.includes(c)),
      );
      expect(inMails.map((m) => m.subject)).toEqual([]);
    });
  });
});
