import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** PostgreSQL's default number of PBKDF2 iterations for SCRAM-SHA-256. */
const ITERATIONS = 4096;
const MECHANISM = 'SCRAM-SHA-256';

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

export interface ScramStep {
  /** Bytes to send to the client (an Authentication message). */
  reply: Buffer;
  /** The client proved the password: go on with the start-up. */
  done: boolean;
  failed: boolean;
}

/**
 * The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it in its
 * protocol (AuthenticationSASL, SASLContinue, SASLFinal): the password never crosses the
 * wire, and the client (`pg`) checks the server's signature too. No channel binding (the
 * embedded server is plain TCP on loopback).
 */
export class ScramServer {
  private readonly salt = randomBytes(16);
  private readonly storedKey: Buffer;
  private readonly serverKey: Buffer;

  constructor(password: string) {
    const salted = pbkdf2Sync(password.normalize('NFKC'), this.salt, ITERATIONS, 32, 'sha256');
    this.storedKey = sha256(hmac(salted, 'Client Key'));
    this.serverKey = hmac(salted, 'Server Key');
  }

  /** One connection's exchange. */
  session(): ScramSession {
    return new ScramSession(this.salt, this.storedKey, this.serverKey);
  }
}

export class ScramSession {
  private clientFirstBare: string | undefined;
  private serverFirst: string | undefined;
  private nonce: string | undefined;
  private gs2Header: string | undefined;

  constructor(
    private readonly salt: Buffer,
    private readonly storedKey: Buffer,
    private readonly serverKey: Buffer,
  ) {}

  /** AuthenticationSASL: the mechanisms offered. */
  begin(): Buffer {
    return authentication(10, Buffer.from(`${MECHANISM}\0\0`, 'utf8'));
  }

  /** Handles the body of a SASLInitialResponse or SASLResponse ('p') message. */
  respond(body: Buffer): ScramStep {
    try {
      return this.clientFirstBare === undefined ? this.first(body) : this.final(body);
    } catch {
      return fail();
    }
  }

  private first(body: Buffer): ScramStep {
    const end = body.indexOf(0);
    if (end < 0 || body.subarray(0, end).toString('utf8') !== MECHANISM) return fail();
    const length = body.readInt32BE(end + 1);
    const message = body.subarray(end + 5, end + 5 + length).toString('utf8');
    // gs2-header "n,," or "y,,": no channel binding; then the client-first-message-bare.
    const match = /^([ny]),[^,]*,(.*)$/.exec(message);
    if (!match) return fail();
    this.gs2Header = message.slice(0, message.length - match[2].length);
    this.clientFirstBare = match[2];
    const clientNonce = /(?:^|,)r=([^,]+)/.exec(this.clientFirstBare)?.[1];
    if (!clientNonce) return fail();
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.salt.toString('base64')},i=${ITERATIONS}`;
    return {
      reply: authentication(11, Buffer.from(this.serverFirst, 'utf8')),
      done: false,
      failed: false,
    };
  }

  private final(body: Buffer): ScramStep {
    if (this.serverFirst === undefined) return fail();
    const message = body.toString('utf8');
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) return fail();
    const withoutProof = message.slice(0, proofAt);
    const attributes = new Map(
      withoutProof.split(',').map((part) => [part.slice(0, 1), part.slice(2)] as const),
    );
    if (attributes.get('r') !== this.nonce) return fail();
    if (attributes.get('c') !== Buffer.from(this.gs2Header!, 'utf8').toString('base64')) {
      return fail();
    }
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(this.storedKey, authMessage);
    if (proof.length !== signature.length) return fail();
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ signature[i]));
    if (!timingSafeEqual(sha256(clientKey), this.storedKey)) return fail();
    const serverSignature = hmac(this.serverKey, authMessage).toString('base64');
    return {
      reply: authentication(12, Buffer.from(`v=${serverSignature}`, 'utf8')),
      done: true,
      failed: false,
    };
  }
}

function fail(): ScramStep {
  return { reply: Buffer.alloc(0), done: false, failed: true };
}

/** An Authentication ('R') message of the given kind. */
function authentication(kind: number, data: Buffer): Buffer {
  const message = Buffer.alloc(9 + data.length);
  message.write('R', 0, 'latin1');
  message.writeInt32BE(8 + data.length, 1);
  message.writeInt32BE(kind, 5);
  data.copy(message, 9);
  return message;
}
