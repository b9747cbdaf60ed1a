// JWT hardening (issue 5, point 8): every forged, altered, stale or malformed access token
// gets 401 problem+json UNAUTHORIZED, never a 500, on a plain route and an admin route.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, registerAndLogin, type LoggedInUser } from './support/fixtures.js';
import { type Api, decodeJwtPart, describeResponse, expectProblem } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

const { privateKey: serverPem, publicKey: publicPem } = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const serverKey: KeyObject = createPrivateKey(serverPem);
const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const ADMIN_EMAIL = 'jwt-admin@example.com';
const ADMIN_PASSWORD = 'jwt-hardening-admin-passphrase';

let server: TestServer;
let api: Api;
let issuer: string;
let kid: string;
let jwk: Record<string, unknown>;
let jwksText: string;
let alice: LoggedInUser;
let claims: Record<string, unknown>;
let adminClaims: Record<string, unknown>;

beforeAll(async () => {
  server = await startServer({ env: { JWT_PRIVATE_KEY: serverPem, ADMIN_EMAIL, ADMIN_PASSWORD } });
  api = server.api;
  issuer = `http://localhost:${server.port}`;
  const jwks = await api.get('/.well-known/jwks.json');
  jwksText = jwks.text;
  jwk = jwks.body.keys[0];
  kid = jwk.kid as string;
  alice = await registerAndLogin(api);
  claims = decodeJwtPart(alice.accessToken);
  adminClaims = decodeJwtPart((await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken);
});
afterAll(cleanup);

const nowSec = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

interface Forge {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  key?: KeyObject | Uint8Array;
}

/** A token signed like the server's (ES256, at+jwt, our kid, our key) unless told otherwise. */
function forge(opts: Forge = {}): Promise<string> {
  const header: Record<string, unknown> = { alg: 'ES256', typ: 'at+jwt', kid, ...opts.header };
  const payload: Record<string, unknown> = {
    ...adminClaims,
    iat: nowSec(),
    exp: nowSec() + 600,
    ...opts.claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  for (const [k, v] of Object.entries(header)) if (v === undefined) delete header[k];
  return new SignJWT(payload)
    .setProtectedHeader(header as { alg: string })
    .sign(opts.key ?? serverKey);
}

const hmacKey = (text: string) => new TextEncoder().encode(text);

/** Answers on a route any user may call and on an admin-only one. */
async function expectRejected(token: string | (() => Promise<string> | string)): Promise<void> {
  const value = typeof token === 'function' ? await token() : token;
  for (const path of ['/api/auth/me', '/api/users']) {
    expectProblem(await api.get(path, { token: value }), 401, 'UNAUTHORIZED');
  }
}

describe('controls (they must pass, or the cases below prove nothing)', () => {
  it('accepts an admin token forged with the server key and the right claims', async () => {
    const res = await api.get('/api/users', { token: await forge() });
    expect(res.status, describeResponse(res)).toBe(200);
  });
});

describe('algorithm confusion', () => {
  const unsigned = (alg: string) =>
    `${b64({ alg, typ: 'at+jwt', kid })}.${b64({ ...adminClaims, iat: nowSec(), exp: nowSec() + 600 })}.`;

  it.each(['none', 'None', 'NONE', 'nOnE'])('alg %s, no signature', async (alg) => {
    await expectRejected(() => unsigned(alg));
  });

  it('alg none carrying the original signature', async () => {
    const [, , signature] = alice.accessToken.split('.');
    await expectRejected(() => unsigned('none') + signature);
  });

  it.each([
    ['the public key PEM', () => publicPem],
    ['the public key PEM without its trailing newline', () => publicPem.trim()],
    [
      'the public key as SPKI DER, base64',
      () => createPublicKey(publicPem).export({ type: 'spki', format: 'der' }).toString('base64'),
    ],
    ['the JWK (JSON) from the JWKS', () => JSON.stringify(jwk)],
    ['the whole JWKS document', () => jwksText],
    ['the JWK x coordinate', () => String(jwk.x)],
  ])('HS256 keyed with %s', async (_name, secret) => {
    await expectRejected(() => forge({ header: { alg: 'HS256' }, key: hmacKey(secret()) }));
  });

  it.each(['HS384', 'HS512'])('%s keyed with the public key PEM', async (alg) => {
    await expectRejected(() => forge({ header: { alg }, key: hmacKey(publicPem) }));
  });

  it('ES256 signature under an ES384 / RS256 / PS256 header', async () => {
    const [, payload, signature] = alice.accessToken.split('.');
    for (const alg of ['ES384', 'RS256', 'PS256', 'EdDSA']) {
      await expectRejected(`${b64({ alg, typ: 'at+jwt', kid })}.${payload}.${signature}`);
    }
  });
});

describe('foreign keys and headers', () => {
  it('signed by another key under our kid', async () => {
    await expectRejected(() => forge({ key: attacker.privateKey }));
  });

  it('signed by another key that the header embeds as jwk (CVE-2018-0114 style)', async () => {
    const embedded = await exportJWK(attacker.publicKey);
    await expectRejected(() => forge({ header: { jwk: embedded }, key: attacker.privateKey }));
    await expectRejected(() =>
      forge({ header: { jwk: embedded, kid: undefined }, key: attacker.privateKey }),
    );
  });

  it('pointing to a foreign key set (jku, x5u)', async () => {
    await expectRejected(() =>
      forge({
        header: { jku: 'https://evil.example/jwks.json', kid: 'evil' },
        key: attacker.privateKey,
      }),
    );
    await expectRejected(() =>
      forge({ header: { x5u: 'https://evil.example/cert.pem' }, key: attacker.privateKey }),
    );
  });

  it.each([
    ['an unknown kid', { kid: 'not-our-key' }],
    ['no kid', { kid: undefined }],
    ['a kid that is a path', { kid: '../../../../dev/null' }],
  ])('with the server key but %s', async (_name, header) => {
    await expectRejected(() => forge({ header }));
  });

  it.each([
    ['typ JWT', { typ: 'JWT' }],
    ['no typ', { typ: undefined }],
    ['typ of an ID token', { typ: 'id_token+jwt' }],
    ['typ of a logout token', { typ: 'logout+jwt' }],
  ])('with the server key but %s', async (_name, header) => {
    await expectRejected(() => forge({ header }));
  });
});

describe('tampered or wrong claims', () => {
  it('payload changed after signing (role ADMIN), signature kept', async () => {
    const [h, , s] = alice.accessToken.split('.');
    await expectRejected(`${h}.${b64({ ...claims, role: 'ADMIN' })}.${s}`);
  });

  it('header changed after signing (kid), signature kept', async () => {
    const [, p, s] = alice.accessToken.split('.');
    await expectRejected(`${b64({ alg: 'ES256', typ: 'at+jwt', kid: `${kid}x` })}.${p}.${s}`);
  });

  it('any change to a token accepted a moment before (the verified-token cache keys on every byte)', async () => {
    const [h, p, s] = alice.accessToken.split('.');
    // Accepted, so remembered as verified.
    expect((await api.get('/api/auth/me', { token: alice.accessToken })).status).toBe(200);
    const flip = (text: string, at: number) =>
      `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
    await expectRejected(`${h}.${p}.${flip(s, 10)}`);
    await expectRejected(`${h}.${flip(p, 10)}.${s}`);
    await expectRejected(`${flip(h, 10)}.${p}.${s}`);
    await expectRejected(`${h}.${p}.${s.slice(0, -4)}`);
    // The original is still good.
    expect((await api.get('/api/auth/me', { token: alice.accessToken })).status).toBe(200);
  });

  it('signature of another token', async () => {
    const other = await forge({ claims: { sub: claims.sub, sid: claims.sid, role: 'USER' } });
    const [h, p] = alice.accessToken.split('.');
    await expectRejected(`${h}.${p}.${other.split('.')[2]}`);
  });

  it.each([
    ['wrong iss', { iss: 'https://evil.example' }],
    ['iss with a trailing slash', { iss: () => `${issuer}/` }],
    ['no iss', { iss: undefined }],
    ['wrong aud', { aud: 'https://evil.example' }],
    ['aud as a list without us', { aud: ['https://evil.example'] }],
    ['no aud', { aud: undefined }],
    ['expired an hour ago', { iat: () => nowSec() - 7200, exp: () => nowSec() - 3600 }],
    ['expired a few seconds ago', { exp: () => nowSec() - 5 }],
    ['no exp', { exp: undefined }],
    ['exp as a string', { exp: () => String(nowSec() + 600) }],
    ['not yet valid (nbf in an hour)', { nbf: () => nowSec() + 3600 }],
    ['sid of no session', { sid: () => randomUUID() }],
    ['sid that is not a UUID', { sid: "x' OR '1'='1" }],
    ['sub of nobody', { sub: () => randomUUID() }],
    ['sub of another user than the session’s', { sub: () => claims.sub }],
    ['no sub', { sub: undefined }],
    ['no sid', { sid: undefined }],
  ] as [string, Record<string, unknown>][])('%s', async (_name, changes) => {
    const resolved = Object.fromEntries(
      Object.entries(changes).map(([k, v]) => [
        k,
        typeof v === 'function' ? (v as () => unknown)() : v,
      ]),
    );
    await expectRejected(() => forge({ claims: resolved }));
  });
});

describe('garbage, truncated and non-base64 tokens', () => {
  it.each([
    ['garbage', () => 'garbage'],
    ['three garbage segments', () => 'a.b.c'],
    ['empty segments', () => '..'],
    ['empty JSON objects', () => 'e30.e30.e30'],
    ['the header alone', () => alice.accessToken.split('.')[0]],
    ['two segments', () => alice.accessToken.split('.').slice(0, 2).join('.')],
    ['signature stripped', () => `${alice.accessToken.split('.').slice(0, 2).join('.')}.`],
    ['last character cut', () => alice.accessToken.slice(0, -1)],
    ['cut in the middle', () => alice.accessToken.slice(0, alice.accessToken.length / 2)],
    ['four segments', () => `${alice.accessToken}.e30`],
    [
      'standard base64 (+ / =) instead of base64url',
      () => alice.accessToken.replace(/-/g, '+').replace(/_/g, '/') + '==',
    ],
    ['characters outside base64', () => alice.accessToken.replace(/^eyJ/, 'ey!')],
    [
      'a header that is not JSON',
      () => `${b64('not json')}.${alice.accessToken.split('.').slice(1).join('.')}`,
    ],
    [
      'a payload that is a JSON array',
      () => `${alice.accessToken.split('.')[0]}.${b64([1, 2])}.${alice.accessToken.split('.')[2]}`,
    ],
    ['a 10 000-character string', () => 'x'.repeat(10_000)],
    ['Latin-1 characters', () => 'tøken.ünïcode.ÿ'],
  ])('%s', async (_name, make) => {
    await expectRejected(make);
  });

  it.each([
    ['an empty Bearer', 'Bearer'],
    ['Bearer and spaces', 'Bearer    '],
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['the token without a scheme', 'TOKEN'],
    ['another scheme with the token', 'Token TOKEN'],
  ])('Authorization: %s', async (_name, value) => {
    const authorization = value.replace('TOKEN', () => alice.accessToken);
    for (const path of ['/api/auth/me', '/api/users']) {
      expectProblem(await api.get(path, { headers: { authorization } }), 401, 'UNAUTHORIZED');
    }
  });
});

describe('revoked sessions', () => {
  it('a token of a logged-out session, even re-signed with the server key', async () => {
    const u = await registerAndLogin(api);
    expect((await api.post('/api/auth/logout', undefined, { token: u.accessToken })).status).toBe(
      204,
    );
    await expectRejected(u.accessToken);
    await expectRejected(() => forge({ claims: { ...decodeJwtPart(u.accessToken) } }));
  });

  it('a token of a session revoked from another one (DELETE /api/auth/sessions/:id)', async () => {
    const u = await registerAndLogin(api);
    const second = await login(api, u.email, u.password);
    const sid = decodeJwtPart(second.accessToken).sid as string;
    const res = await api.delete(`/api/auth/sessions/${sid}`, { token: u.accessToken });
    expect(res.status, describeResponse(res)).toBe(204);
    await expectRejected(second.accessToken);
    expect((await api.get('/api/auth/me', { token: u.accessToken })).status).toBe(200);
  });

  it('the tokens of the other sessions after a password change', async () => {
    const u = await registerAndLogin(api);
    const other = await login(api, u.email, u.password);
    const res = await api.post(
      '/api/auth/change-password',
      { currentPassword: u.password, newPassword: `${u.password}-new` },
      { token: u.accessToken },
    );
    expect(res.status, describeResponse(res)).toBe(204);
    await expectRejected(other.accessToken);
  });
});

describe('the server', () => {
  // Last: everything above was refused, none of it as an unexpected error.
  it('logged no unexpected error and answered no 5xx', () => {
    const history = api.history.filter((r) => r.status >= 500);
    expect(history).toEqual([]);
    expect(server.logs.filter((l) => /Unhandled error|"level":50/.test(l))).toEqual([]);
  });
});
