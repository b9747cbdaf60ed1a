// Liveness, readiness (with the database gone), and graceful shutdown under load.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from './support/fixtures.js';
import { describeResponse, expectProblem, sleep } from './support/http.js';
import { cleanup, startServer, tail, type TestServer } from './support/server.js';

afterAll(cleanup);

describe('health', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });

  it('GET /health/live answers 200 {"status":"ok"}', async () => {
    const res = await server.api.get('/health/live');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /health/ready answers 200 while the database answers', async () => {
    const res = await server.api.get('/health/ready');
    expect(res.status, describeResponse(res)).toBe(200);
  });

  it('health routes need no token and are not under /api', async () => {
    expect((await server.api.get('/api/health/live')).status).toBe(404);
  });

  it('GET /health/ready answers 503 SERVICE_UNAVAILABLE once the database is unreachable', async () => {
    await server.db.disconnect();
    let res = await server.api.get('/health/ready');
    const deadline = Date.now() + 20_000;
    while (res.status !== 503 && Date.now() < deadline) {
      await sleep(250);
      res = await server.api.get('/health/ready');
    }
    const p = expectProblem(res, 503, 'SERVICE_UNAVAILABLE');
    // No driver message, address or SQL in a 5xx.
    expect(JSON.stringify(p)).not.toMatch(
      /ECONNREFUSED|127\.0\.0\.1|terminat|SELECT|pg_|at .+:\d+/i,
    );
    // The process is still alive.
    const live = await server.api.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'ok' });
  }, 40_000);
});

describe('graceful shutdown', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Hashes twice as slow as the default, so that logins are still in flight at SIGTERM; and a
    // generous SHUTDOWN_TIMEOUT, so that a slow machine is not mistaken for a broken drain.
    server = await startServer({
      env: { ARGON2_MEMORY_COST: '19456', ARGON2_TIME_COST: '4', SHUTDOWN_TIMEOUT: '60s' },
    });
  });

  /** status 0: the connection failed; body then holds the error. */
  interface Outcome {
    status: number;
    body: string;
    at: number;
  }

  /** POSTs JSON on its own connection; `sent` resolves once the request is fully written. */
  function post(path: string, body: unknown) {
    let markSent!: () => void;
    const sent = new Promise<void>((r) => (markSent = r));
    const done = new Promise<Outcome>((resolve) => {
      const reject = (err: Error) => resolve({ status: 0, body: err.message, at: Date.now() });
      const payload = JSON.stringify(body);
      const req = httpRequest(
        `${server.url}${path}`,
        {
          method: 'POST',
          agent: false,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('aborted', () => reject(new Error('response aborted')));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              at: Date.now(),
            }),
          );
        },
      );
      req.on('error', reject);
      // Sent = connected and every byte handed to the kernel.
      let connected = false;
      let finished = false;
      const check = () => connected && finished && markSent();
      req.on('socket', (socket) =>
        socket.once('connect', () => {
          connected = true;
          check();
        }),
      );
      req.on('finish', () => {
        finished = true;
        check();
      });
      req.end(payload);
    });
    return { sent, done };
  }

  function get(path: string): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      httpRequest(`${server.url}${path}`, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            at: Date.now(),
          }),
        );
      })
        .on('error', reject)
        .end();
    });
  }

  it('answers every accepted request completely on SIGTERM, then exits 0', async () => {
    const { email, password } = await register(server.api);
    const calls = Array.from({ length: 20 }, () => post('/api/auth/login', { email, password }));
    const settled = Promise.all(calls.map((c) => c.done));
    await Promise.all(calls.map((c) => c.sent));
    // Barrier: a request on a connection opened after the 20 is answered only once the server
    // has accepted (in order) the 20 connections before it, so all of them count as accepted.
    const barrier = await get('/health/live');
    expect(barrier.status).toBe(200);
    const killedAt = Date.now();
    server.child.kill('SIGTERM');

    const results = await settled;
    const code = await server.stop();
    // Times are relative to SIGTERM, to tell "reset at once" from "cut at a shutdown timeout".
    const problems = results.flatMap((r, i) => {
      const where = `#${i} at +${r.at - killedAt} ms: ${r.status} ${r.body}`;
      if (r.status !== 200) return [where];
      const body = JSON.parse(r.body);
      return typeof body.access_token === 'string' ? [] : [where];
    });
    expect(problems, tail(server.logs)).toEqual([]);
    // The test means something only if some logins were still running at SIGTERM.
    const afterKill = results.filter((r) => r.status === 200 && r.at > killedAt);
    expect(afterKill.length).toBeGreaterThan(0);
    expect(code, tail(server.logs)).toBe(0);
  }, 90_000);
});
