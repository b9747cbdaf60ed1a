/**
 * A typed authkit client in a few lines: the types come from the committed `openapi.json`
 * (`npm run client:generate` writes `generated/api.d.ts` with openapi-typescript), the
 * calls go through openapi-fetch. It registers a new account, logs in, reads `me`,
 * refreshes, logs out, and checks that the old access token is refused; any other answer
 * makes it exit with code 1.
 *
 *   npm run client:generate
 *   npx tsc -p examples/client/tsconfig.json
 *   node dist/examples/client/src/main.js http://localhost:3000   # or AUTHKIT_URL=...
 *
 * It uses the body transport of refresh tokens (the default); a browser app in cookie
 * transport sends `credentials: 'include'` and the X-XSRF-TOKEN header instead (docs/angular.md).
 */
import { randomBytes } from 'node:crypto';
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from '../generated/api.js';

type Problem = components['schemas']['ProblemDto'];

const baseUrl = (process.argv[2] ?? process.env.AUTHKIT_URL ?? 'http://localhost:3000').replace(
  /\/+$/,
  '',
);

class UnexpectedAnswer extends Error {}

/** Fails the run unless `response` has the `expected` status. */
function expectStatus(step: string, response: Response, expected: number, error?: Problem): void {
  if (response.status === expected) return;
  const problem = error ? `${error.code}: ${error.detail}` : '(no problem document)';
  throw new UnexpectedAnswer(
    `${step}: expected ${expected}, got ${response.status} ${problem} from ${response.url}`,
  );
}

function check(step: string, condition: boolean, what: string): void {
  if (!condition) throw new UnexpectedAnswer(`${step}: ${what}`);
}

/** The access token of the current session, sent by the middleware below (like an HTTP interceptor). */
let accessToken: string | undefined;
const bearer: Middleware = {
  onRequest({ request }) {
    if (accessToken) request.headers.set('Authorization', `Bearer ${accessToken}`);
    return request;
  },
};

const api = createClient<paths>({ baseUrl });
api.use(bearer);

async function main(): Promise<void> {
  const suffix = randomBytes(6).toString('hex');
  const email = `typed-client-${suffix}@example.com`;
  const password = `example client passphrase ${randomBytes(8).toString('hex')}`;

  const registered = await api.POST('/api/auth/register', {
    body: { email, password, firstName: 'Ada', lastName: 'Lovelace' },
  });
  expectStatus('register', registered.response, 201, registered.error);
  const userId = registered.data?.user.id;
  check('register', registered.data?.user.email === email, 'the new user has another email');
  console.log(`register: 201, user ${userId}`);

  const login = await api.POST('/api/auth/login', { body: { email, password } });
  expectStatus('login', login.response, 200, login.error);
  // An account with a second factor answers `mfa_required` and an `mfa_token` for
  // POST /api/auth/mfa/verify instead; this new account has none.
  const tokens = login.data && !('mfa_required' in login.data) ? login.data : undefined;
  check('login', tokens?.token_type === 'Bearer', 'token_type is not Bearer');
  const firstRefresh = tokens?.refresh_token;
  check(
    'login',
    typeof firstRefresh === 'string',
    'no refresh_token: is the server in cookie transport?',
  );
  accessToken = tokens?.access_token;
  console.log(`login: 200, access token expires in ${tokens?.expires_in} s`);

  const me = await api.GET('/api/auth/me');
  expectStatus('me', me.response, 200, me.error);
  check('me', me.data?.id === userId && me.data?.email === email, 'me is somebody else');
  console.log(`me: 200, ${me.data?.email} (${me.data?.role})`);

  const refreshed = await api.POST('/api/auth/refresh', { body: { refresh_token: firstRefresh } });
  expectStatus('refresh', refreshed.response, 200, refreshed.error);
  check(
    'refresh',
    refreshed.data?.refresh_token !== firstRefresh,
    'the refresh token did not rotate',
  );
  check('refresh', refreshed.data?.user.id === userId, 'refreshed into another account');
  accessToken = refreshed.data?.access_token;
  console.log('refresh: 200, new refresh token');

  const loggedOut = await api.POST('/api/auth/logout', { body: { scope: 'local' } });
  expectStatus('logout', loggedOut.response, 204, loggedOut.error);
  console.log('logout: 204');

  // The session is gone, so its access token no longer works, even before it expires.
  const after = await api.GET('/api/auth/me');
  expectStatus('me after logout', after.response, 401, after.error);
  check('me after logout', after.error?.code === 'UNAUTHORIZED', `code ${after.error?.code}`);
  console.log('me after logout: 401 UNAUTHORIZED');
  console.log(`OK: the typed client works against ${baseUrl}`);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`FAILED: ${message}`);
  process.exitCode = 1;
});
