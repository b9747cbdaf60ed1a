// Issue 13, item 13: the scheduled retention cleanup. A server dedicated to it runs the
// cleanup every second (RETENTION_INTERVAL=1s) with AUDIT_RETENTION=30d and
// EXPIRED_RETENTION=1d; the test ages rows by rewriting their timestamps in the database,
// then waits until the aged ones are gone and checks that those within retention are kept.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, register, registerAndLogin } from './support/fixtures.js';
import { sleep } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer({
    env: { RETENTION_INTERVAL: '1s', AUDIT_RETENTION: '30d', EXPIRED_RETENTION: '1d' },
  });
}, 120_000);

afterAll(cleanup);

const q = <T = Record<string, unknown>>(sql: string, params?: unknown[]) =>
  server.db.query<T>(sql, params);

async function count(sql: string, params: unknown[]): Promise<number> {
  const [row] = await q<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) x`, params);
  return Number(row.n);
}

/** Waits (polling, up to 30 s) until `sql` finds no row. */
async function untilGone(sql: string, params: unknown[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await count(sql, params)) > 0) {
    if (Date.now() > deadline) throw new Error(`rows still there after 30 s: ${sql}`);
    await sleep(200);
  }
}

async function sessionIdOf(accessToken: string): Promise<string> {
  const res = await server.api.get('/api/auth/sessions', { token: accessToken });
  return (res.body as { id: string; current: boolean }[]).find((s) => s.current)!.id;
}

describe('retention cleanup', () => {
  it('deletes rows past retention and keeps the rest', async () => {
    // Audit events: one past AUDIT_RETENTION, one within it.
    const marker = randomUUID();
    await q(
      `INSERT INTO audit_events (type, metadata, created_at) VALUES
         ('test.retention', $1::jsonb, now() - interval '31 days'),
         ('test.retention', $2::jsonb, now() - interval '29 days')`,
      [JSON.stringify({ marker, age: 'old' }), JSON.stringify({ marker, age: 'young' })],
    );

    // Sessions: ended 2 days ago (absolute expiry, idle expiry, revocation) and 1 hour ago.
    const u = await registerAndLogin(server.api);
    const tokens = await Promise.all(
      [1, 2, 3, 4, 5].map(() => login(server.api, u.email, u.password)),
    );
    const [absolute, idle, revoked, recent, live] = await Promise.all(
      tokens.map((t) => sessionIdOf(t.accessToken)),
    );
    await q(
      `UPDATE sessions SET absolute_expires_at = now() - interval '2 days',
                           expires_at = now() - interval '2 days' WHERE id = $1`,
      [absolute],
    );
    await q(`UPDATE sessions SET expires_at = now() - interval '2 days' WHERE id = $1`, [idle]);
    await q(`UPDATE sessions SET revoked_at = now() - interval '2 days' WHERE id = $1`, [revoked]);
    await q(`UPDATE sessions SET expires_at = now() - interval '1 hour' WHERE id = $1`, [recent]);
    const oldSessions = [absolute, idle, revoked];

    // Recovery rows: a reset and a verification link expired 2 days ago, others 1 hour ago.
    const [a, b] = [await register(server.api), await register(server.api)];
    for (const email of [a.email, b.email]) {
      expect((await server.api.post('/api/recovery/forgot-password', { email })).status).toBe(202);
    }
    const aged = (table: string, interval: string, userId: string) =>
      q(`UPDATE ${table} SET expires_at = now() - interval '${interval}' WHERE user_id = $1`, [
        userId,
      ]);
    await aged('password_resets', '2 days', a.user.id);
    await aged('password_resets', '1 hour', b.user.id);
    await aged('email_verifications', '2 days', a.user.id);
    await aged('email_verifications', '1 hour', b.user.id);

    // Outbox: sent 2 days ago, sent 1 hour ago, and pending for 2 days (never deleted).
    const recipient = `retention-${marker}@example.com`;
    await q(
      `INSERT INTO mail_outbox (recipient, template, status, created_at, sent_at, next_attempt_at) VALUES
         ($1, 'old-sent', 'sent', now() - interval '2 days', now() - interval '2 days', now()),
         ($1, 'young-sent', 'sent', now() - interval '1 hour', now() - interval '1 hour', now()),
         ($1, 'old-failed', 'failed', now() - interval '2 days', NULL, now()),
         ($1, 'old-pending', 'pending', now() - interval '2 days', NULL, now() + interval '1 day')`,
      [recipient],
    );

    await untilGone(
      `SELECT 1 FROM audit_events WHERE metadata->>'marker' = $1 AND metadata->>'age' = 'old'`,
      [marker],
    );
    await untilGone(`SELECT 1 FROM sessions WHERE id = ANY($1::uuid[])`, [oldSessions]);
    await untilGone(`SELECT 1 FROM refresh_tokens WHERE session_id = ANY($1::uuid[])`, [
      oldSessions,
    ]);
    await untilGone(`SELECT 1 FROM password_resets WHERE user_id = $1`, [a.user.id]);
    await untilGone(`SELECT 1 FROM email_verifications WHERE user_id = $1`, [a.user.id]);
    await untilGone(
      `SELECT 1 FROM mail_outbox WHERE recipient = $1 AND template IN ('old-sent', 'old-failed')`,
      [recipient],
    );

    // Within retention (or not finished): kept, after the runs that deleted the others.
    expect(await count(`SELECT 1 FROM audit_events WHERE metadata->>'marker' = $1`, [marker])).toBe(
      1,
    );
    expect(await count(`SELECT 1 FROM sessions WHERE id = ANY($1::uuid[])`, [[recent, live]])).toBe(
      2,
    );
    expect(
      await count(`SELECT 1 FROM refresh_tokens WHERE session_id = $1`, [live]),
    ).toBeGreaterThan(0);
    expect(await count(`SELECT 1 FROM password_resets WHERE user_id = $1`, [b.user.id])).toBe(1);
    expect(await count(`SELECT 1 FROM email_verifications WHERE user_id = $1`, [b.user.id])).toBe(
      1,
    );
    const kept = await q<{ template: string }>(
      `SELECT template FROM mail_outbox WHERE recipient = $1 ORDER BY template`,
      [recipient],
    );
    expect(kept.map((r) => r.template)).toEqual(['old-pending', 'young-sent']);

    // The live session still works; a deleted one's refresh token is simply unknown.
    expect((await server.api.get('/api/auth/me', { token: tokens[4].accessToken })).status).toBe(
      200,
    );
    const refreshed = await server.api.post('/api/auth/refresh', {
      refresh_token: tokens[0].refreshToken,
    });
    expect(refreshed.status).toBe(401);
  }, 90_000);
});
