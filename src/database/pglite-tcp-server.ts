import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { ScramServer } from './scram.js';

/**
 * Serves one PGlite instance to many `pg` connections over TCP.
 *
 * Why not `PGLiteSocketServer`: its multiplexer queues each protocol *message* separately,
 * so the Parse/Bind/Execute/Sync of two connections interleave and one connection binds the
 * other's unnamed statement ("unnamed prepared statement does not exist", `portal "" does
 * not exist`) as soon as two queries run at once. Here a connection's messages are run as
 * one unit up to a Sync or simple Query, and while a connection is inside a transaction
 * only that connection runs.
 *
 * All connections share PGlite's one session, so the names of prepared statements are
 * made per connection here (`name` becomes `c<connection>_name`; the `pg` driver caches
 * them per connection) and deallocated when their connection closes.
 *
 * Protection (`options`): with a `password`, a client must prove it with SCRAM-SHA-256
 * (as PostgreSQL's `scram-sha-256` authentication) before its start-up packet reaches
 * PGlite. With `idleInTransactionTimeoutMs`, a connection that keeps a transaction open
 * without sending anything for that long is closed (FATAL 25P03, as PostgreSQL's
 * `idle_in_transaction_session_timeout`) and its transaction rolled back, so the other
 * connections, which wait while a transaction is open, go on.
 */
export interface PgliteTcpServerOptions {
  password?: string;
  idleInTransactionTimeoutMs?: number;
}

interface Unit {
  conn: number;
  socket: Socket;
  bytes: Uint8Array;
  done: () => void;
}

export class PgliteTcpServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly queue: Unit[] = [];
  private running = false;
  /** The connection whose transaction is open, if any. */
  private owner: number | undefined;
  private nextId = 1;
  private readonly scram: ScramServer | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: PGlite,
    private readonly options: PgliteTcpServerOptions = {},
  ) {
    this.scram = options.password === undefined ? undefined : new ScramServer(options.password);
  }

  async start(host = '127.0.0.1', port = 0): Promise<number> {
    await this.db.waitReady;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.disarmIdleTimer();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const conn = this.nextId++;
    this.sockets.add(socket);
    let buffer = Buffer.alloc(0);
    let started = false;
    let group: Buffer[] = [];
    let chain = Promise.resolve();
    const prepared = new Set<string>();
    /** The start-up packet, held until the client has authenticated. */
    let startup: Buffer | undefined;
    let auth = this.scram?.session();

    const submit = (bytes: Buffer) => {
      chain = chain.then(
        () =>
          new Promise<void>((done) => {
            if (this.owner === conn) this.disarmIdleTimer();
            this.queue.push({ conn, socket, bytes: new Uint8Array(bytes), done });
            this.pump();
          }),
      );
    };

    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const len = buffer.readInt32BE(0);
          if (buffer.length < len) return;
          const code = buffer.readInt32BE(4);
          const packet = buffer.subarray(0, len);
          buffer = buffer.subarray(len);
          if (code === 80877103 || code === 80877104) {
            socket.write('N'); // no SSL, no GSS encryption
          } else if (code === 80877102) {
            // CancelRequest: nothing to cancel in PGlite.
          } else if (auth) {
            started = true;
            startup = Buffer.from(packet);
            socket.write(auth.begin());
          } else {
            started = true;
            submit(Buffer.from(packet));
          }
          continue;
        }
        if (buffer.length < 5) return;
        const len = 1 + buffer.readInt32BE(1);
        if (buffer.length < len) return;
        const type = String.fromCharCode(buffer[0]);
        const message = buffer.subarray(0, len);
        buffer = buffer.subarray(len);
        if (type === 'X') {
          socket.end();
          return;
        }
        if (auth) {
          // Only SASL responses until the proof is checked.
          const step = type === 'p' ? auth.respond(message.subarray(5)) : undefined;
          if (!step || step.failed) {
            socket.end(authenticationFailed());
            buffer = Buffer.alloc(0);
            return;
          }
          socket.write(step.reply);
          if (step.done) {
            auth = undefined;
            submit(startup!);
            startup = undefined;
          }
          continue;
        }
        group.push(scopeStatementNames(message, `c${conn}_`, prepared));
        // Sync, simple Query and Flush end a unit of work the client waits an answer for.
        if (type === 'S' || type === 'Q' || type === 'H') {
          submit(Buffer.concat(group));
          group = [];
        }
      }
    });

    const close = () => {
      if (!this.sockets.delete(socket)) return;
      for (let i = this.queue.length - 1; i >= 0; i--) {
        if (this.queue[i].conn === conn) this.queue.splice(i, 1)[0].done();
      }
      // If it owned an open transaction and is idle, roll back now; if one of its units is
      // running, pump() rolls back when that unit ends.
      if (this.owner === conn && !this.running) {
        this.disarmIdleTimer();
        this.running = true;
        void this.db
          .exec('ROLLBACK')
          .catch(() => undefined)
          .finally(() => {
            this.owner = undefined;
            this.running = false;
            this.pump();
          });
      }
      // (Not once the server is stopping: the database may be closed already.)
      if (prepared.size && this.server) {
        // Queued like any unit, so it never runs inside another connection's transaction.
        const sql = [...prepared].map((name) => `DEALLOCATE "${name}";`).join(' ');
        this.queue.push({ conn, socket, bytes: simpleQuery(sql), done: () => undefined });
        prepared.clear();
        this.pump();
      }
    };
    socket.on('close', close);
    socket.on('error', close);
  }

  private pump(): void {
    if (this.running) return;
    const i = this.queue.findIndex((q) => this.owner === undefined || q.conn === this.owner);
    if (i === -1) return;
    const [item] = this.queue.splice(i, 1) as [Unit];
    this.running = true;
    const { socket } = item;
    void this.db
      .runExclusive(() =>
        this.db.execProtocolRawStream(item.bytes, {
          onRawData: (chunk) => {
            if (socket.writable) socket.write(Buffer.from(chunk));
          },
        }),
      )
      .catch(() => undefined)
      .then(() => {
        this.owner = this.db.isInTransaction() ? item.conn : undefined;
        // A connection that went away mid-transaction must not block everyone else.
        if (this.owner !== undefined && !this.sockets.has(socket)) {
          this.owner = undefined;
          return this.db.exec('ROLLBACK').catch(() => undefined);
        }
        return undefined;
      })
      .finally(() => {
        this.running = false;
        item.done();
        if (this.owner === item.conn) this.armIdleTimer(item.conn, socket);
        this.pump();
      });
  }

  /** While `conn` holds a transaction open with nothing queued, count its idle time. */
  private armIdleTimer(conn: number, socket: Socket): void {
    this.disarmIdleTimer();
    const limit = this.options.idleInTransactionTimeoutMs;
    if (!limit) return;
    if (this.queue.some((unit) => unit.conn === conn)) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.owner !== conn || this.running || this.queue.some((u) => u.conn === conn)) return;
      // Closing it rolls its transaction back (see close() in accept()).
      socket.end(
        errorResponse('25P03', 'terminating connection due to idle-in-transaction timeout'),
      );
      socket.destroy();
    }, limit);
    this.idleTimer.unref();
  }

  private disarmIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

/** A FATAL ErrorResponse message. */
function errorResponse(sqlstate: string, text: string): Buffer {
  const fields = Buffer.concat([
    Buffer.from(`SFATAL\0VFATAL\0C${sqlstate}\0M${text}\0`, 'utf8'),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write('E', 0, 'latin1');
  header.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([header, fields]);
}

function authenticationFailed(): Buffer {
  return errorResponse('28P01', 'password authentication failed');
}

/**
 * Prefixes the statement names of Parse, Bind, Describe and Close messages (the unnamed
 * statement stays unnamed) and records the names this connection prepared.
 */
function scopeStatementNames(message: Buffer, prefix: string, prepared: Set<string>): Buffer {
  const type = String.fromCharCode(message[0]);
  let at: number;
  if (type === 'P') at = 5;
  else if (type === 'B')
    at = message.indexOf(0, 5) + 1; // after the portal name
  else if ((type === 'D' || type === 'C') && message[5] === 0x53 /* 'S' */) at = 6;
  else return Buffer.from(message);
  const end = message.indexOf(0, at);
  if (end === at) return Buffer.from(message); // the unnamed statement
  const name = prefix + message.subarray(at, end).toString('utf8');
  if (type === 'P') prepared.add(name);
  if (type === 'C') prepared.delete(name);
  const scoped = Buffer.concat([
    message.subarray(0, at),
    Buffer.from(name, 'utf8'),
    message.subarray(end),
  ]);
  scoped.writeInt32BE(scoped.length - 1, 1);
  return scoped;
}

/** A simple Query protocol message. */
function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const message = Buffer.alloc(5 + text.length);
  message.write('Q', 0, 'latin1');
  message.writeInt32BE(4 + text.length, 1);
  text.copy(message, 5);
  return new Uint8Array(message);
}
