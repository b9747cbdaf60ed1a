// Graceful shutdown and the mail outbox: on SIGTERM the worker finishes the message in hand
// (delivered once, marked sent) or, when SMTP does not answer in time, leaves it for the next
// instance (never lost, never sent twice); meanwhile new requests get 503 problem+json.
// (The burst of in-flight HTTP requests at SIGTERM is in health.e2e.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { register, uniqueEmail } from './support/fixtures.js';
import { expectProblem, sleep } from './support/http.js';
import { SUBJECT, mailsFor } from './support/mail.js';
import { cleanup, startServer, tail, type TestServer } from './support/server.js';
import { startSmtpSink, type SmtpSink } from './support/smtp.js';

let smtp: SmtpSink;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  smtp = await startSmtpSink();
});
afterAll(async () => {
  smtp.release();
  await cleanup();
  await smtp.stop();
  await Promise.all(databases.map((d) => d.drop()));
});

async function sharedDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}

async function until(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface OutboxRow {
  status: string;
  attempts: number;
}

const outboxFor = (db: TestDatabase, email: string) =>
  db.query<OutboxRow>('SELECT status, attempts FROM mail_outbox WHERE recipient = $1', [email]);

/** Registers `email` and waits until its verification email is in SMTP's hands, unanswered. */
async function registerWhileSmtpHolds(server: TestServer, email: string): Promise<void> {
  smtp.hold();
  const heldBefore = smtp.held;
  await register(server.api, { email });
  await until('the verification email to reach SMTP', () => smtp.held > heldBefore);
}

/** Waits until a new request is refused because shutdown has begun, and checks how. */
async function expectRefusingNewRequests(server: TestServer): Promise<void> {
  let res = await server.api.get('/health/ready');
  const deadline = Date.now() + 30_000;
  while (res.status !== 503 && Date.now() < deadline) {
    await sleep(100);
    res = await server.api.get('/health/ready');
  }
  expectProblem(res, 503, 'SERVICE_UNAVAILABLE');
  expect(res.headers.get('connection')).toBe('close');
  expect(res.headers.get('x-request-id')).toBeTruthy();
  // The security headers of every response, this one included.
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(server.child.exitCode, 'still draining').toBeNull();
}

describe('SIGTERM while the outbox worker is sending', () => {
  it('finishes the message in hand: delivered once, marked sent, exit 0', async () => {
    const db = await sharedDatabase();
    const server = await startServer({
      database: db,
      env: { SMTP_URL: smtp.url, SHUTDOWN_TIMEOUT: '60s' },
    });
    const email = uniqueEmail('drain');
    await registerWhileSmtpHolds(server, email);

    server.child.kill('SIGTERM');
    // Shutdown has begun and waits for the worker, which waits for SMTP's answer.
    await expectRefusingNewRequests(server);
    smtp.release();

    expect(await server.stop(), tail(server.logs)).toBe(0);
    expect(await outboxFor(db, email)).toEqual([{ status: 'sent', attempts: 1 }]);
    expect(mailsFor(smtp, email, SUBJECT.verify)).toHaveLength(1);
  }, 120_000);

  it('leaves a message SMTP does not answer in time for the next instance: not lost, not sent twice', async () => {
    const db = await sharedDatabase();
    // The worker waits for half of SHUTDOWN_TIMEOUT, then lets the process exit; the other
    // half is ample for the rest of the shutdown, even on a busy machine.
    const first = await startServer({
      database: db,
      env: { SMTP_URL: smtp.url, SHUTDOWN_TIMEOUT: '20s' },
    });
    const email = uniqueEmail('handover');
    const droppedBefore = smtp.dropped;
    await registerWhileSmtpHolds(first, email);

    first.child.kill('SIGTERM');
    await expectRefusingNewRequests(first);
    expect(await first.stop(), tail(first.logs)).toBe(0);
    expect(first.logs.join('\n')).toMatch(/Stopped while a message was being sent/);
    // SMTP never acknowledged it (the connection was cut), so nothing was delivered...
    await until('the cut connection to be seen', () => smtp.dropped > droppedBefore);
    smtp.release();
    expect(mailsFor(smtp, email, SUBJECT.verify)).toHaveLength(0);
    // ...and the message is still queued.
    const [row] = await outboxFor(db, email);
    expect(row?.status).toBe('pending');

    // The next instance sends it once its claim has lapsed (2 minutes; shortened here).
    await db.query(`UPDATE mail_outbox SET next_attempt_at = now() WHERE recipient = $1`, [email]);
    const second = await startServer({ database: db, env: { SMTP_URL: smtp.url } });
    await smtp.waitForMail(email, (m) => m.subject === SUBJECT.verify, 60_000);
    await until('the message to be marked sent', async () =>
      (await outboxFor(db, email)).every((r) => r.status === 'sent'),
    );
    await sleep(1_500); // a second send, if there were one, would have happened by now
    expect(mailsFor(smtp, email, SUBJECT.verify)).toHaveLength(1);
    expect(await outboxFor(db, email)).toEqual([{ status: 'sent', attempts: 2 }]);
    expect(await second.stop()).toBe(0);
  }, 180_000);
});
