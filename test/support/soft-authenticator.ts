// A software WebAuthn authenticator for HTTP-level tests: an ES256 key pair per credential,
// `none` attestation, discoverable credentials with the user handle of the options, and a
// signature counter. It builds exactly what a browser sends (RegistrationResponseJSON,
// AuthenticationResponseJSON); the browser tests use Chromium's virtual authenticator.
// CBOR comes from @simplewebauthn/server's own helpers, so nothing is hand-encoded twice.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

interface Credential {
  id: Buffer;
  privateKey: KeyObject;
  publicKeyCose: Uint8Array;
  userHandle: string;
  counter: number;
}

const b64url = (data: Uint8Array | Buffer) => Buffer.from(data).toString('base64url');

/** The options of the server, as far as the authenticator reads them. */
interface CreationOptions {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}
interface RequestOptions {
  challenge: string;
  rpId?: string;
  allowCredentials?: { id: string }[];
}

export class SoftAuthenticator {
  readonly credentials: Credential[] = [];

  constructor(
    readonly origin: string,
    /** Whether it reports user verification (a PIN or biometric). */
    readonly userVerified = true,
    /** Counter step per assertion; 0 makes it a counter-less (synced) authenticator. */
    readonly counterStep = 1,
  ) {}

  /** `startRegistration()`'s answer. */
  register(options: CreationOptions, overrides: { origin?: string } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
    const publicKeyCose = isoCBOR.encode(cose);
    const id = randomBytes(32);
    const credential: Credential = {
      id,
      privateKey,
      publicKeyCose,
      userHandle: options.user.id,
      counter: 0,
    };
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.flags() | 0x40]), // AT: attested credential data follows
      counterBytes(0),
      Buffer.alloc(16), // AAGUID: none
      idLength,
      id,
      Buffer.from(publicKeyCose),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]) as never,
    );
    const clientDataJSON = clientData(
      'webauthn.create',
      options.challenge,
      overrides.origin ?? this.origin,
    );
    this.credentials.push(credential);
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key' as const,
      clientExtensionResults: {},
      authenticatorAttachment: 'platform' as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** `startAuthentication()`'s answer, with the first allowed (or the last made) credential. */
  assert(
    options: RequestOptions,
    overrides: { credential?: Credential; origin?: string; counter?: number } = {},
  ) {
    const credential =
      overrides.credential ??
      (options.allowCredentials?.length
        ? this.credentials.find((c) => options.allowCredentials!.some((a) => a.id === b64url(c.id)))
        : this.credentials.at(-1));
    if (!credential) throw new Error('no credential for these options');
    credential.counter = overrides.counter ?? credential.counter + this.counterStep;
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.flags()]),
      counterBytes(credential.counter),
    ]);
    const clientDataJSON = clientData(
      'webauthn.get',
      options.challenge,
      overrides.origin ?? this.origin,
    );
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(clientDataJSON)]),
      credential.privateKey,
    );
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key' as const,
      clientExtensionResults: {},
      authenticatorAttachment: 'platform' as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
    };
  }

  private flags(): number {
    return 0x01 | (this.userVerified ? 0x04 : 0); // UP, and UV when verified
  }
}

function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter);
  return bytes;
}

function clientData(type: string, challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}
