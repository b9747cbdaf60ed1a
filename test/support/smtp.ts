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
  /**
   * From now on, receives each message but holds the reply to its DATA (the sender waits, as
   * with a slow server) until `release()`. A held message is not in `messages` yet.
   */
  hold(): void;
  /**
   * Stops holding and answers the held messages, which then count as received; a message
   * whose connection closed while held was never acknowledged and is dropped.
   */
  release(): void;
  /** Messages received and waiting for their reply (while holding). */
  readonly held: number;
  /** Held messages dropped because the sender hung up before the reply. */
  readonly dropped: number;
  /** Refuses matching recipients with a permanent `550` (none once called without one). */
  refuseRecipients(predicate?: (address: string) => boolean): void;
  stop(): Promise<void>;
}

/** A real SMTP server on loopback that keeps every message it accepts. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let holding = false;
  let dropped = 0;
  const heldReplies: { sessionId: string; answer: () => void }[] = [];
  let refuse: ((address: string) => boolean) | undefined;

  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 100,
    onRcptTo(address, _session, callback) {
      if (!refuse?.(address.address.toLowerCase())) return callback();
      callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
    },
    onClose(session) {
      for (let i = heldReplies.length - 1; i >= 0; i--) {
        if (heldReplies[i].sessionId === session.id) {
          heldReplies.splice(i, 1);
          dropped += 1;
        }
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            const from = session.envelope.mailFrom;
            const mail: Omit<ReceivedMail, 'receivedAt'> = {
              from: from ? from.address.toLowerCase() : '',
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              raw: raw.toString('utf8'),
              parsed,
            };
            const answer = () => {
              messages.push({ ...mail, receivedAt: new Date() });
              for (const w of waiters) w();
              callback();
            };
            if (holding) heldReplies.push({ sessionId: session.id, answer });
            else answer();
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
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const { answer } of heldReplies.splice(0)) answer();
    },
    get held() {
      return heldReplies.length;
    },
    get dropped() {
      return dropped;
    },
    refuseRecipients(predicate) {
      refuse = predicate;
    },
  };
}
