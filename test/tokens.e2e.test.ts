// Access tokens: JWKS, header and claims, and every way a forged or stale token must fail.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAndLogin, type LoggedInUser } from './support/fixtures.js';
import {
  type Api,
  decodeJwtPart,
  describeResponse,
  expectProblem,
  findLeaks,
  sleep,
  UUID_RE,
} from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

function generateEcKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

const serverKeys = generateEcKey();
const serverKey: KeyObject = createPrivateKey(serverKeys.privatePem);
const otherKey: KeyObject = createPrivateKey(generateEcKey().privatePem);

let server: TestServer;
/** ACCESS_TOKEN_TTL=2s */
let shortLived: TestServer;
let api: Api;
let jwks: JSONWebKeySet;
let kid: string;
let issuer: string;
let alice: LoggedInUser;
/** The claims of alice's real access token. */
let claims: Record<string, any>;

beforeAll(async () => {
  [server, shortLived] = await Promise.all([
    startServer({ env: { JWT_PRIVATE_KEY: serverKeys.privatePem } }),
    startServer({ env: { ACCESS_TOKEN_TTL: '2s' } }),
  ]);
  api = server.api;
  issuer = `http://localhost:${server.port}`;
  const res = await api.get('/.well-known/jwks.json');
  expect(res.status, describeResponse(res)).toBe(200);
  jwks = res.body;
  kid = jwks.keys[0].kid!;
  alice = await registerAndLogin(api);
  claims = decodeJwtPart(alice.accessToken);
});
afterAll(cleanup);

const me = (token: string) => api.get('/api/auth/me', { token });
const nowSec = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function sign(
  payload: Record<string, unknown>,
  opts: { key?: KeyObject | Uint8Array; alg?: string; kid?: string; typ?: string } = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({
      alg: opts.alg ?? 'ES256',
      typ: opts.typ ?? 'at+jwt',
      kid: opts.kid ?? kid,
    })
    .sign(opts.key ?? serverKey);
}

/** alice's claims with a fresh iat/exp and the given changes (undefined removes a claim). */
function claimsWith(changes: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...claims, iat: nowSec(), exp: nowSec() + 600 };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

describe('GET /.well-known/jwks.json', () => {
  it('publishes the public ES256 key and nothing private', async () => {
    const res = await api.get('/.well-known/jwks.json');
    expect(res.headers.get('content-type')).toMatch(/json/);
    expect(Array.isArray(res.body.keys)).toBe(true);
    expect(res.body.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of res.body.keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key.kid).toBeTypeOf('string');
      expect(key.kid.length).toBeGreaterThan(0);
      expect(key.x).toBeTypeOf('string');
      expect(key.y).toBeTypeOf('string');
      expect(key).not.toHaveProperty('d');
    }
  });

  it('publishes the key given in JWT_PRIVATE_KEY', () => {
    const mine = createPublicKey(serverKeys.publicPem).export({ format: 'jwk' });
    expect(jwks.keys[0]).toMatchObject({ x: mine.x, y: mine.y });
  });

  it('does not require a token', async () => {
    expect((await shortLived.api.get('/.well-known/jwks.json')).status).toBe(200);
  });
});

describe('access token', () => {
  it('has an ES256 at+jwt header whose kid is in the JWKS', () => {
    const header = decodeJwtPart(alice.accessToken, 0);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid });
  });

  it('carries iss, aud, sub, sid, role, iat and exp, and verifies against the JWKS', async () => {
    const { payload } = await jwtVerify(alice.accessToken, createLocalJWKSet(jwks), {
      algorithms: ['ES256'],
      typ: 'at+jwt',
      issuer,
      audience: issuer,
    });
    expect(payload.sub).toBe(alice.user.id);
    expect(payload.sid).toMatch(UUID_RE);
    expect(payload.role).toBe('USER');
    expect(payload.iat).toBeTypeOf('number');
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(Math.abs(payload.iat! - nowSec())).toBeLessThan(120);
  });

  it('lasts ACCESS_TOKEN_TTL, and an expired one gets 401', async () => {
    const u = await registerAndLogin(shortLived.api);
    const login = await shortLived.api.post('/api/auth/login', {
      email: u.email,
      password: u.password,
    });
    const token = login.body.access_token as string;
    expect((await shortLived.api.get('/api/auth/me', { token })).status).toBe(200);
    expect(login.body.expires_in).toBe(2);
    const { iat, exp } = decodeJwtPart(token);
    expect(exp - iat).toBe(2);
    await sleep(3_100);
    expectProblem(await shortLived.api.get('/api/auth/me', { token }), 401, 'UNAUTHORIZED');
  });

  it('is accepted when forged with the server key and the right claims (control)', async () => {
    const res = await me(await sign(claimsWith()));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.id).toBe(alice.user.id);
  });
});

describe('rejected access tokens answer 401 UNAUTHORIZED, never 500', () => {
  const cases: [string, () => Promise<string> | string][] = [
    [
      'payload tampered (role ADMIN), signature kept',
      () => {
        const [h, , s] = alice.accessToken.split('.');
        return `${h}.${b64({ ...claims, role: 'ADMIN' })}.${s}`;
      },
    ],
    ['signature stripped', () => alice.accessToken.split('.').slice(0, 2).join('.') + '.'],
    ['alg none', () => `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claimsWith())}.`],
    [
      'alg None with the original signature',
      () =>
        `${b64({ alg: 'None', typ: 'at+jwt', kid })}.${b64(claimsWith())}.${alice.accessToken.split('.')[2]}`,
    ],
    [
      'HS256 signed with the public key PEM as secret',
      () =>
        sign(claimsWith(), { alg: 'HS256', key: new TextEncoder().encode(serverKeys.publicPem) }),
    ],
    [
      'HS256 signed with the JWKS JSON as secret',
      () =>
        sign(claimsWith(), {
          alg: 'HS256',
          key: new TextEncoder().encode(JSON.stringify(jwks.keys[0])),
        }),
    ],
    ['wrong iss', () => sign(claimsWith({ iss: 'https://evil.example' }))],
    ['no iss', () => sign(claimsWith({ iss: undefined }))],
    ['wrong aud', () => sign(claimsWith({ aud: 'https://evil.example' }))],
    ['no aud', () => sign(claimsWith({ aud: undefined }))],
    ['expired an hour ago', () => sign(claimsWith({ iat: nowSec() - 7200, exp: nowSec() - 3600 }))],
    ['no exp', () => sign(claimsWith({ exp: undefined }))],
    ['nbf an hour in the future', () => sign(claimsWith({ nbf: nowSec() + 3600 }))],
    ['signed by another EC key with the same kid', () => sign(claimsWith(), { key: otherKey })],
    ['no sid', () => sign(claimsWith({ sid: undefined }))],
    ['sid of no session', () => sign(claimsWith({ sid: randomUUID() }))],
    ['sid that is not a UUID', () => sign(claimsWith({ sid: "x' OR '1'='1" }))],
    ['sub that is not a UUID', () => sign(claimsWith({ sub: 'not-a-uuid' }))],
    ['no sub', () => sign(claimsWith({ sub: undefined }))],
    ['garbage', () => 'garbage'],
    ['three garbage segments', () => 'a.b.c'],
    ['empty JSON segments', () => 'e30.e30.e30'],
    ['dots only', () => '..'],
    ['a 10 000-character string', () => 'x'.repeat(10_000)],
    ['Latin-1 bytes', () => 'tøken.ünïcode.ÿ'],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const token = await make();
    expectProblem(await me(token), 401, 'UNAUTHORIZED');
  });

  it.each([
    ['Bearer with no token', 'Bearer'],
    ['Bearer and a space', 'Bearer '],
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['the token without a scheme', 'TOKEN'],
  ])('Authorization: %s', async (_name, value) => {
    const header = value.replace('TOKEN', () => alice.accessToken);
    const res = await api.get('/api/auth/me', { headers: { authorization: header } });
    expectProblem(res, 401, 'UNAUTHORIZED');
  });

  it('the token of a logged-out session', async () => {
    const u = await registerAndLogin(api);
    expect((await me(u.accessToken)).status).toBe(200);
    const out = await api.post('/api/auth/logout', undefined, { token: u.accessToken });
    expect(out.status, describeResponse(out)).toBe(204);
    expectProblem(await me(u.accessToken), 401, 'UNAUTHORIZED');
    // Re-signing the same claims with the server key does not bring the session back.
    const resigned = await sign({
      ...decodeJwtPart(u.accessToken),
      iat: nowSec(),
      exp: nowSec() + 600,
    });
    expectProblem(await me(resigned), 401, 'UNAUTHORIZED');
  });

  it('a token issued by another server (other key, other issuer)', async () => {
    const other = await registerAndLogin(shortLived.api);
    expectProblem(await me(other.accessToken), 401, 'UNAUTHORIZED');
  });
});

describe('responses', () => {
  // Last in the file: scans every response the tests above received.
  it('never contained a password hash, a token hash or a stack trace in this file', () => {
    expect([...findLeaks(api), ...findLeaks(shortLived.api)]).toEqual([]);
  });
});

describe('JWT_ISSUER and JWT_AUDIENCE', () => {
  it('are the iss and aud of the tokens, and the only ones accepted', async () => {
    const custom = await startServer({
      env: {
        JWT_PRIVATE_KEY: serverKeys.privatePem,
        JWT_ISSUER: 'https://auth.example.com',
        JWT_AUDIENCE: 'orders-api',
      },
    });
    try {
      const bob = await registerAndLogin(custom.api);
      const real = decodeJwtPart(bob.accessToken);
      expect(real.iss).toBe('https://auth.example.com');
      expect(real.aud).toBe('orders-api');
      const forged = (changes: Record<string, unknown>) =>
        sign({ ...real, iat: nowSec(), exp: nowSec() + 300, ...changes });
      const meOn = async (token: string) => custom.api.get('/api/auth/me', { token });
      // Control: the same claims, signed again with the same key, are accepted.
      expect((await meOn(await forged({}))).status).toBe(200);
      // The defaults, or any other value, are not.
      for (const changes of [
        { iss: issuer },
        { aud: issuer },
        { iss: 'https://auth.example.com/' },
        { aud: 'orders' },
      ]) {
        expectProblem(await meOn(await forged(changes)), 401, 'UNAUTHORIZED');
      }
    } finally {
      await custom.stop();
    }
  }, 60_000);
});
