// Input the framework handles before our code does (issue 13, items 6 and 11): deeply
// nested JSON is a 400, not a stack overflow; and every response, including the ones Node,
// the router or a plugin produce before Nest (431, bad request lines, router errors, 404,
// 413, 415, CORS preflights), carries X-Request-Id, the security headers and, for an error,
// a problem document.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAndLogin, type LoggedInUser } from './support/fixtures.js';
import { type Api, describeResponse, expectProblem, UUID_RE } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

const ORIGIN = 'https://app.example.com';

let server: TestServer;
let api: Api;
let user: LoggedInUser;

beforeAll(async () => {
  server = await startServer({ env: { CORS_ORIGINS: ORIGIN } });
  api = server.api;
  user = await registerAndLogin(api);
});
afterAll(cleanup);

const json = (text: string) => ({ rawBody: text, contentType: 'application/json' });
const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const nestedObjects = (depth: number, key = 'a') =>
  `{"${key}":`.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);

function noStackOverflowLogged(): void {
  expect(server.logs.filter((l) => /Maximum call stack|RangeError/.test(l))).toEqual([]);
}

describe('deeply nested input', () => {
  it('a 10 KB [[[[...]]]] body gets 400 VALIDATION_FAILED, without a token', async () => {
    for (const path of ['/api/auth/login', '/api/auth/register', '/api/recovery/verify-otp']) {
      for (const body of [nestedArrays(5_000), `{"email":${nestedArrays(5_000)}}`]) {
        const res = await api.request('POST', path, json(body));
        expectProblem(res, 400, 'VALIDATION_FAILED');
      }
    }
    noStackOverflowLogged();
  });

  it('a {"a":{"a":...}} body gets 400 VALIDATION_FAILED naming the limit, on every kind of route', async () => {
    const body = json(nestedObjects(5_000));
    for (const [method, path, token] of [
      ['POST', '/api/auth/login', undefined],
      ['POST', '/api/auth/change-password', user.accessToken],
      ['PATCH', '/api/users/me', user.accessToken],
    ] as const) {
      const p = expectProblem(
        await api.request(method, path, { ...body, token }),
        400,
        'VALIDATION_FAILED',
      );
      expect(p.detail).toMatch(/deeper than 32 levels/);
    }
    // Nested under a property the DTO knows, and inside an array.
    const inField = `{"email":${nestedObjects(3_000, 'email')},"password":"x"}`;
    expectProblem(await api.request('POST', '/api/auth/login', json(inField)), 400);
    const inArray = `{"email":[${nestedArrays(3_000)}],"password":"x"}`;
    expectProblem(await api.request('POST', '/api/auth/login', json(inArray)), 400);
    noStackOverflowLogged();
  });

  it('32 levels are judged by validation, 33 are refused for their depth', async () => {
    const at = expectProblem(
      await api.request('POST', '/api/auth/login', json(nestedObjects(32))),
      400,
      'VALIDATION_FAILED',
    );
    expect(at.detail).not.toMatch(/deeper/);
    const over = expectProblem(
      await api.request('POST', '/api/auth/login', json(nestedObjects(33))),
      400,
      'VALIDATION_FAILED',
    );
    expect(over.detail).toMatch(/deeper than 32 levels/);
  });

  it('nesting and repetition in a query string get a 4xx, never a 500', async () => {
    const deep = 'search' + '[a]'.repeat(2_000) + '=x';
    const repeated = Array.from({ length: 1_500 }, () => 'search=x').join('&');
    for (const query of [deep, repeated, 'page[__proto__][x]=1', '__proto__[x]=1&constructor=1']) {
      const res = await api.get(`/api/users?${query}`, { token: user.accessToken });
      expect(res.status, `${query.slice(0, 80)}: ${describeResponse(res)}`).toBeGreaterThanOrEqual(
        400,
      );
      expect(res.status, describeResponse(res)).toBeLessThan(500);
      expectProblem(res, res.status);
    }
    noStackOverflowLogged();
  });
});

describe('text PostgreSQL cannot hold as JSON', () => {
  // JSON.stringify writes a lone surrogate as `\ud800`, which PostgreSQL's jsonb refuses:
  // the failed login's audit row made this a 500 on PostgreSQL (PGlite let it through).
  it('a lone surrogate in a login identifier is never a 500', async () => {
    for (const body of [
      { username: 'a\ud800b', password: 'wrong-password-1' },
      { username: '\udfff', password: 'wrong-password-1' },
    ]) {
      const res = await api.post('/api/auth/login', body);
      expect(res.status, describeResponse(res)).toBeLessThan(500);
      expectProblem(res, res.status);
    }
  });
});

/** One raw HTTP/1.1 exchange; resolves with the status, headers and body Node sent back. */
function rawExchange(
  request: string,
): Promise<{ status: number; headers: Map<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = new Map(
        lines.map((l) => [
          l.slice(0, l.indexOf(':')).toLowerCase(),
          l.slice(l.indexOf(':') + 1).trim(),
        ]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.setTimeout(10_000, () =>
      socket.destroy(new Error(`no answer to ${request.slice(0, 60)}`)),
    );
  });
}

function expectContractHeaders(headers: { get(name: string): string | null | undefined }): void {
  expect(headers.get('x-request-id')).toMatch(UUID_RE);
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  expect(headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
}

describe('responses produced before Nest', () => {
  it.each([
    [
      'headers over 16 KiB',
      `GET /api/auth/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
    [
      'a request line over 16 KiB',
      `GET /api/users?search=${'a'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, 'VALIDATION_FAILED'],
    [
      'a malformed header',
      'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      400,
      'VALIDATION_FAILED',
    ],
    [
      'conflicting Content-Length and Transfer-Encoding',
      'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      'VALIDATION_FAILED',
    ],
  ])(
    '%s: problem+json with X-Request-Id and the security headers',
    async (_name, request, status, code) => {
      const res = await rawExchange(request);
      expect(res.status, res.body).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expectContractHeaders(res.headers);
      const problem = JSON.parse(res.body) as Record<string, unknown>;
      expect(problem).toMatchObject({ status, code, type: 'about:blank' });
      expect(problem.requestId).toBe(res.headers.get('x-request-id'));
      expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(res.body));
    },
  );

  it('a 431 reaches fetch() too (the connection is closed only after the answer)', async () => {
    const res = await api.get('/api/auth/me', { headers: { 'x-big': 'a'.repeat(17_000) } });
    expectProblem(res, 431, 'HEADERS_TOO_LARGE');
    expectContractHeaders(res.headers);
  });

  it('a CORS preflight carries X-Request-Id and the security headers', async () => {
    const res = await api.request('OPTIONS', '/api/auth/login', {
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expectContractHeaders(res.headers);
  });

  it('router errors, 404, 413 and 415 carry them too, as problem documents', async () => {
    const cases = [
      [await api.get('/api/users/%E0%A4%A', { token: user.accessToken }), 400],
      [
        await api.request('DELETE', `/api/users/${'x'.repeat(200)}`, { token: user.accessToken }),
        400,
      ],
      [await api.get('/nowhere'), 404],
      [await api.request('OPTIONS', '/api/auth/login'), 404],
      [await api.post('/api/auth/login', { password: 'x'.repeat(70_000) }), 413],
      [
        await api.request('POST', '/api/auth/login', { rawBody: 'x', contentType: 'text/plain' }),
        415,
      ],
    ] as const;
    for (const [res, status] of cases) {
      const p = expectProblem(res, status);
      expect(p.requestId).toBe(res.headers.get('x-request-id'));
      expectContractHeaders(res.headers);
    }
  });

  it('the docs keep their own CSP', async () => {
    const res = await api.get('/docs');
    expect(res.headers.get('content-security-policy')).toMatch(/style-src 'self' 'unsafe-inline'/);
  });
});
