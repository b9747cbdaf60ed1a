// The mail outbox: requests never wait on SMTP, nothing is lost while SMTP is down or across
// a restart, two instances never send a message twice, and without SMTP_URL every message
// becomes an .eml file under DATA_DIR/mail.
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './support/db.js';
import { register, uniqueEmail } from './support/fixtures.js';
import { describeResponse, sleep } from './support/http.js';
import { linkIn, mailsFor, SUBJECT } from './support/mail.js';
import { cleanup, startServer, type TestServer } from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

let smtp: SmtpSink;
/** Each test starts its own servers, which can take a while on a busy machine. */
const SLOW = { timeout: 180_000 };

beforeAll(async () => {
  smtp = await startSmtpSink();
});
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

/** Resolves once `predicate` holds, polling; fails with `what` after `timeoutMs`. */
async function eventually(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface OutboxRow {
  recipient: string;
  status: string;
  attempts: number;
  last_error: string | null;
  context: unknown;
}

const outbox = (server: TestServer) =>
  server.db.query<OutboxRow>(
    'SELECT recipient, status, attempts, last_error, context FROM mail_outbox',
  );

/** A TCP server that accepts connections and never answers: a hung SMTP server. */
async function startBlackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('SMTP down', () => {
  it(
    'answers at once, retries with backoff, and delivers every message exactly once when SMTP is back',
    SLOW,
    async () => {
      const server = await startServer({ env: { SMTP_URL: smtp.url } });
      await smtp.pause();
      const emails = Array.from({ length: 5 }, () => uniqueEmail('outage'));
      for (const email of emails) {
        await register(server.api, { email });
        const res = await server.api.post('/api/recovery/forgot-password', { email });
        expect(res.status, describeResponse(res)).toBe(202);
      }
      // Every message has failed at least once and says why.
      await eventually(async () => {
        const rows = await outbox(server);
        return rows.length === 10 && rows.every((r) => r.attempts >= 1 && r.last_error);
      }, 'a failed attempt of every message');
      expect((await outbox(server)).every((r) => r.status === 'pending')).toBe(true);
      await sleep(2_000);
      await smtp.resume();

      await eventually(
        () => emails.every((e) => mailsFor(smtp, e, SUBJECT.reset).length >= 1),
        'every reset email',
      );
      await eventually(
        () => emails.every((e) => mailsFor(smtp, e, SUBJECT.verify).length >= 1),
        'every verification email',
      );
      await sleep(2_000);
      for (const email of emails) {
        expect(mailsFor(smtp, email, SUBJECT.reset)).toHaveLength(1);
        expect(mailsFor(smtp, email, SUBJECT.verify)).toHaveLength(1);
      }
      const rows = await outbox(server);
      expect(rows.map((r) => r.status)).toEqual(Array(10).fill('sent'));
      // Sent messages no longer hold their one-time links.
      expect(rows.every((r) => r.context === null)).toBe(true);
      await server.stop();
    },
  );

  it(
    'never makes a request wait on a hung SMTP server, and still stops promptly',
    SLOW,
    async () => {
      const hole = await startBlackHole();
      const server = await startServer({ env: { SMTP_URL: hole.url } });
      const email = uniqueEmail('hung');
      await register(server.api, { email });
      const started = performance.now();
      const res = await server.api.post('/api/recovery/forgot-password', { email });
      expect(res.status).toBe(202);
      // A request that waited on this server would take at least SMTP's 10 s greeting
      // timeout; the bound is far from both that and a busy machine's slowest answer.
      expect(performance.now() - started).toBeLessThan(5_000);
      await eventually(
        async () => (await outbox(server)).some((r) => r.attempts >= 1),
        'a claimed message',
      );
      // Exit code 0 means the shutdown finished within SHUTDOWN_TIMEOUT (main.ts exits 1
      // when it runs out), so the worker stopped waiting for the hung send. (No stopwatch
      // here: on a loaded machine the rest of the shutdown took 4.6 s once, and that is
      // not what this test is about.)
      expect(await server.stop()).toBe(0);
      await hole.close();
    },
  );

  it('loses nothing across a restart', SLOW, async () => {
    const database = await createTestDatabase();
    const servers: TestServer[] = [];
    try {
      await smtp.pause();
      const first = await startServer({ env: { SMTP_URL: smtp.url }, database });
      servers.push(first);
      const email = uniqueEmail('restart');
      await register(first.api, { email });
      await eventually(
        async () => (await outbox(first)).some((r) => r.last_error !== null),
        'a failed attempt',
      );
      expect(await first.stop()).toBe(0);
      await smtp.resume();
      const second = await startServer({ env: { SMTP_URL: smtp.url }, database });
      servers.push(second);
      await eventually(() => mailsFor(smtp, email, SUBJECT.verify).length === 1, 'the message');
    } finally {
      await smtp.resume();
      await Promise.all(servers.map((s) => s.stop()));
      await database.drop();
    }
  });
});

describe('two instances on one database', () => {
  it('never send a message twice', SLOW, async () => {
    const database = await createTestDatabase();
    const servers: TestServer[] = [];
    try {
      const a = await startServer({ env: { SMTP_URL: smtp.url }, database });
      servers.push(a);
      const b = await startServer({ env: { SMTP_URL: smtp.url }, database });
      servers.push(b);
      const emails = Array.from({ length: 30 }, () => uniqueEmail('pair'));
      // Queue through both instances at once, so both workers find work.
      await Promise.all(
        emails.map(async (email, i) => {
          const api = (i % 2 ? a : b).api;
          await register(api, { email });
          const other = (i % 2 ? b : a).api;
          expect((await other.post('/api/recovery/forgot-password', { email })).status).toBe(202);
        }),
      );
      await eventually(
        () =>
          emails.every(
            (e) =>
              mailsFor(smtp, e, SUBJECT.verify).length >= 1 &&
              mailsFor(smtp, e, SUBJECT.reset).length >= 1,
          ),
        'every message',
      );
      await sleep(2_500);
      for (const email of emails) {
        const all = smtp.messages.filter((m) => m.to.includes(email));
        expect(all.map((m) => m.subject).sort(), email).toEqual(
          [SUBJECT.reset, SUBJECT.verify].sort(),
        );
      }
      const ids = smtp.messages
        .filter((m) => emails.some((e) => m.to.includes(e)))
        .map((m) => m.parsed.messageId);
      expect(new Set(ids).size).toBe(60);
      const delivered = (s: TestServer) =>
        s.logs.filter((l) => l.includes('Mail delivered')).length;
      expect(delivered(a) + delivered(b)).toBe(60);
      expect(delivered(a)).toBeGreaterThan(0);
      expect(delivered(b)).toBeGreaterThan(0);
    } finally {
      // Stop the servers before their database goes away.
      await Promise.all(servers.map((s) => s.stop()));
      await database.drop();
    }
  });
});

describe('without SMTP_URL', () => {
  const emlFiles = (server: TestServer) => {
    try {
      return readdirSync(join(server.dataDir, 'mail')).filter((f) => f.endsWith('.eml'));
    } catch {
      return [];
    }
  };

  it(
    'writes every message as an .eml file under DATA_DIR/mail and logs its path and link',
    SLOW,
    async () => {
      const server = await startServer();
      const { email } = await register(server.api);
      await eventually(() => emlFiles(server).length === 1, 'an .eml file');
      const [file] = emlFiles(server);
      const mail = await simpleParser(readFileSync(join(server.dataDir, 'mail', file)));
      expect(mail.subject).toBe(SUBJECT.verify);
      expect(JSON.stringify(mail.to)).toContain(email);
      const { link } = linkIn({ text: mail.text ?? '' }, 'verify-email');
      await eventually(
        () => server.logs.some((l) => l.includes(file) && l.includes(link)),
        'a log line with the path and the link',
      );
      // The link works.
      const { token } = linkIn({ text: mail.text ?? '' }, 'verify-email');
      expect((await server.api.post('/api/auth/verify-email', { token })).status).toBe(200);
      await server.stop();
    },
  );

  it('never logs the link when NODE_ENV=production', SLOW, async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const server = await startServer({ env: { NODE_ENV: 'production', JWT_PRIVATE_KEY: pem } });
    await register(server.api);
    await eventually(() => emlFiles(server).length === 1, 'an .eml file');
    const [file] = emlFiles(server);
    const mail = await simpleParser(readFileSync(join(server.dataDir, 'mail', file)));
    const { token } = linkIn({ text: mail.text ?? '' }, 'verify-email');
    await eventually(() => server.logs.some((l) => l.includes(file)), 'the log line');
    expect(server.logs.filter((l) => l.includes(token))).toEqual([]);
    await server.stop();
  });
});
