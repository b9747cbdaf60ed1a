import { type AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope sender and recipients, lower-cased. */
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  raw: string;
  parsed: ParsedMail;
  receivedAt: Date;
}

export interface SmtpSink {
  url: string;
  port: number;
  messages: ReceivedMail[];
  /** Resolves with the first message (received before or after the call) for `to` that matches. */
  waitForMail(
    to: string,
    predicate?: (m: ReceivedMail) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedMail>;
  /** Closes the listener and drops open connections, as if the SMTP server went down. */
  pause(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** A real SMTP server on loopback that keeps every message it accepts. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();

  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 100,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            const from = session.envelope.mailFrom;
            messages.push({
              from: from ? from.address.toLowerCase() : '',
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              raw: raw.toString('utf8'),
              parsed,
              receivedAt: new Date(),
            });
            for (const w of waiters) w();
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.server.off('error', onError);
        resolve((server.server.address() as AddressInfo).port);
      });
    });

  const port = await listen(0);
  let listening = true;

  const closeListener = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.server.close(() => resolve());
      for (const c of server.connections) c.close();
    });

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    waitForMail(to, predicate = () => true, timeoutMs = 10_000) {
      const address = to.toLowerCase();
      const find = () => messages.find((m) => m.to.includes(address) && predicate(m));
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = find();
          if (!m) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = messages.map((m) => `${m.to.join(',')}: ${m.subject}`).join('\n');
          reject(new Error(`no mail for ${address} within ${timeoutMs} ms; received:\n${seen}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    pause: closeListener,
    async resume() {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    async stop() {
      await closeListener();
    },
  };
}
