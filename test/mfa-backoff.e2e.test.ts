// The login backoff and the second step of a login (issue 16): with the backoff at its
// defaults (5 failures), the correct password of the first step clears it as for any login,
// a user who mistypes the code four times still gets in with the fifth, and five wrong
// codes lock the account's logins as five wrong passwords would. Also the MFA routes'
// password checks count in the same backoff.
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAndLogin, type LoggedInUser } from './support/fixtures.js';
import { type Api, describeResponse, expectProblem } from './support/http.js';
import { cleanup, startServer } from './support/server.js';

let api: Api;

beforeAll(async () => {
  // The defaults of the backoff (RELAXED_LIMITS turns it off for the other files).
  const server = await startServer({
    env: { LOGIN_BACKOFF_THRESHOLD: '5', LOGIN_BACKOFF_DELAY: '1m', TRUST_PROXY: 'true' },
  });
  api = server.api;
});
afterAll(cleanup);

const totpOf = (secret: string) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });

/** A code none of the secret's steps within three of now has. */
function wrongCode(totp: TOTP, n: number): string {
  const near = new Set(
    [-3, -2, -1, 0, 1, 2, 3].map((k) => totp.generate({ timestamp: Date.now() + k * 30_000 })),
  );
  let value = 100_000 + n * 7919;
  while (near.has(String(value).padStart(6, '0'))) value += 1;
  return String(value % 1_000_000).padStart(6, '0');
}

/** A user with TOTP confirmed with the code of the current step; answers the authenticator. */
async function enrolled(): Promise<{ u: LoggedInUser; totp: TOTP }> {
  const u = await registerAndLogin(api);
  const started = await api.post(
    '/api/auth/mfa/totp',
    { password: u.password },
    { token: u.accessToken },
  );
  expect(started.status, describeResponse(started)).toBe(200);
  const totp = totpOf(started.body.secret);
  const confirmed = await api.post(
    '/api/auth/mfa/totp/confirm',
    { code: totp.generate({ timestamp: Date.now() - 30_000 }) },
    { token: u.accessToken },
  );
  expect(confirmed.status, describeResponse(confirmed)).toBe(200);
  return { u, totp };
}

async function firstStep(u: LoggedInUser): Promise<string> {
  const res = await api.post('/api/auth/login', { email: u.email, password: u.password });
  expect(res.status, describeResponse(res)).toBe(200);
  expect(res.body.mfa_required).toBe(true);
  return res.body.mfa_token;
}

describe('the login backoff and the second step', () => {
  it('four wrong codes, then the right one: signed in, and the backoff starts from zero', async () => {
    const { u, totp } = await enrolled();
    // Four failed logins first: the correct password of the next one clears them.
    for (let i = 0; i < 4; i += 1) {
      const res = await api.post('/api/auth/login', {
        email: u.email,
        password: 'wrong password!',
      });
      expectProblem(res, 401, 'INVALID_CREDENTIALS');
    }
    const token = await firstStep(u);
    for (let i = 0; i < 4; i += 1) {
      expectProblem(
        await api.post('/api/auth/mfa/verify', { mfa_token: token, code: wrongCode(totp, i) }),
        400,
        'INVALID_CODE',
      );
    }
    // The current step's code (the confirm used the previous one).
    const ok = await api.post('/api/auth/mfa/verify', { mfa_token: token, code: totp.generate() });
    expect(ok.status, describeResponse(ok)).toBe(200);
    expect(ok.body.access_token).toBeTypeOf('string');
    // Cleared: four more wrong passwords are answered 401, not 429.
    for (let i = 0; i < 4; i += 1) {
      const res = await api.post('/api/auth/login', {
        email: u.email,
        password: 'wrong password!',
      });
      expectProblem(res, 401, 'INVALID_CREDENTIALS');
    }
  });

  it('five wrong codes end the mfa_token and lock the logins of the account', async () => {
    const { u, totp } = await enrolled();
    const token = await firstStep(u);
    for (let i = 0; i < 4; i += 1) {
      expectProblem(
        await api.post('/api/auth/mfa/verify', { mfa_token: token, code: wrongCode(totp, i) }),
        400,
        'INVALID_CODE',
      );
    }
    expectProblem(
      await api.post('/api/auth/mfa/verify', { mfa_token: token, code: wrongCode(totp, 4) }),
      400,
      'TOO_MANY_ATTEMPTS',
    );
    const locked = await api.post('/api/auth/login', { email: u.email, password: u.password });
    expectProblem(locked, 429, 'RATE_LIMITED');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('wrong passwords on the MFA routes count in the backoff too', async () => {
    const { u } = await enrolled();
    for (let i = 0; i < 5; i += 1) {
      expectProblem(
        await api.post(
          '/api/auth/mfa/recovery-codes',
          { password: 'wrong password!', code: '000000' },
          { token: u.accessToken },
        ),
        400,
        'INVALID_CURRENT_PASSWORD',
      );
    }
    expectProblem(
      await api.post('/api/auth/login', { email: u.email, password: u.password }),
      429,
      'RATE_LIMITED',
    );
  });
});
