// Self-test of the test harness (no server needed): the SMTP sink and the test database.
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { sleep } from './support/http.js';
import { startSmtpSink, type SmtpSink } from './support/smtp.js';

describe('SMTP sink', () => {
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink();
  });
  afterAll(() => smtp.stop());

  const send = (to: string, subject: string) =>
    nodemailer
      .createTransport({
        host: '127.0.0.1',
        port: smtp.port,
        secure: false,
        ignoreTLS: true,
        connectionTimeout: 2_000,
      })
      .sendMail({ from: 'noreply@example.com', to, subject, text: `body of ${subject}` });

  it('receives and parses messages, and waits for one that matches', async () => {
    const waiting = smtp.waitForMail('Ada@Example.com', (m) => m.subject === 'second');
    await send('ada@example.com', 'first');
    await send('ada@example.com', 'second');
    const mail = await waiting;
    expect(mail.subject).toBe('second');
    expect(mail.text.trim()).toBe('body of second');
    expect(mail.from).toBe('noreply@example.com');
    expect(smtp.messages.filter((m) => m.to.includes('ada@example.com'))).toHaveLength(2);
    await expect(smtp.waitForMail('nobody@example.com', undefined, 200)).rejects.toThrow(/no mail/);
  });

  it('refuses connections while paused and accepts them again after resume', async () => {
    await smtp.pause();
    await expect(send('bob@example.com', 'while down')).rejects.toThrow();
    await smtp.resume();
    await send('bob@example.com', 'back up');
    const mail = await smtp.waitForMail('bob@example.com');
    expect(mail.subject).toBe('back up');
  });

  it('holds replies until release, and drops a held message whose sender hung up', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      ignoreTLS: true,
    });
    smtp.hold();
    let delivered = false;
    const sending = transport
      .sendMail({ from: 'noreply@example.com', to: 'held@example.com', subject: 'held', text: 'x' })
      .then(() => (delivered = true));
    for (let i = 0; i < 100 && smtp.held === 0; i++) await sleep(50);
    expect(smtp.held).toBe(1);
    expect(delivered).toBe(false);
    expect(smtp.messages.some((m) => m.to.includes('held@example.com'))).toBe(false);
    smtp.release();
    await sending;
    expect(smtp.held).toBe(0);
    expect((await smtp.waitForMail('held@example.com')).subject).toBe('held');

    // A sender that gives up (socket timeout) while its message is held: never acknowledged.
    smtp.hold();
    const impatient = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      ignoreTLS: true,
      socketTimeout: 500,
    });
    await expect(
      impatient.sendMail({
        from: 'a@example.com',
        to: 'gone@example.com',
        subject: 's',
        text: 'x',
      }),
    ).rejects.toThrow();
    for (let i = 0; i < 100 && smtp.dropped === 0; i++) await sleep(50);
    smtp.release();
    expect(smtp.dropped).toBe(1);
    expect(smtp.messages.some((m) => m.to.includes('gone@example.com'))).toBe(false);
  });

  it('refuses chosen recipients with a permanent 550', async () => {
    smtp.refuseRecipients((address) => address.startsWith('refused'));
    try {
      await expect(send('refused@example.com', 'no')).rejects.toMatchObject({ responseCode: 550 });
      await send('accepted@example.com', 'yes');
    } finally {
      smtp.refuseRecipients();
    }
    expect((await smtp.waitForMail('accepted@example.com')).subject).toBe('yes');
  });
});

describe('test database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('answers queries over its URL and has the citext and pg_trgm extensions', async () => {
    const [row] = await db.query<{ one: number }>('SELECT 1 AS one');
    expect(row?.one).toBe(1);
    await db.query('CREATE EXTENSION IF NOT EXISTS citext');
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    const [eq] = await db.query<{ eq: boolean }>("SELECT 'Ada'::citext = 'ADA'::citext AS eq");
    expect(eq?.eq).toBe(true);
    const [sim] = await db.query<{ s: number }>("SELECT similarity('lovelace', 'lovelac') AS s");
    expect(sim?.s).toBeGreaterThan(0.5);
  });

  it('keeps concurrent connections and their transactions apart', async () => {
    await db.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
    await db.query('INSERT INTO counters VALUES (1, 0)');
    const clients = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        return c;
      }),
    );
    try {
      await Promise.all(
        clients.map(async (c, i) => {
          for (let k = 0; k < 10; k++) {
            const { rows } = await c.query('SELECT $1::int * 2 AS v, $2::text AS t', [k, `c${i}`]);
            expect(rows[0]).toEqual({ v: k * 2, t: `c${i}` });
            await c.query('BEGIN');
            const cur = await c.query('SELECT n FROM counters WHERE id = $1 FOR UPDATE', [1]);
            await c.query('UPDATE counters SET n = $1 WHERE id = 1', [cur.rows[0].n + 1]);
            await c.query(k % 3 === 0 ? 'ROLLBACK' : 'COMMIT');
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    // 8 clients x 10 transactions, a third of them rolled back: no lost update.
    const [row] = await db.query<{ n: number }>('SELECT n FROM counters WHERE id = 1');
    expect(row?.n).toBe(8 * 6);
  });

  it('is unreachable after disconnect()', async () => {
    const other = await createTestDatabase();
    await other.disconnect();
    await expect(other.query('SELECT 1')).rejects.toThrow();
    await other.drop();
  });
});
