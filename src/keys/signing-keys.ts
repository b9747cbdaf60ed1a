import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/app-config.js';

export interface PublicJwk extends JsonWebKey {
  kty: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

/**
 * The ES256 key pair that signs access tokens, parsed once at start-up. `kid` is the
 * RFC 7638 thumbprint of the public key, so it changes exactly when the key does.
 */
export class SigningKeys {
  readonly kid: string;
  readonly jwk: PublicJwk;

  private constructor(
    readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
  ) {
    const { crv, kty, x, y } = publicKey.export({ format: 'jwk' });
    this.kid = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
    this.jwk = { kty: kty!, crv, x, y, kid: this.kid, alg: 'ES256', use: 'sig' };
  }

  /** From the configured PEM, or from `dataDir/jwt-signing-key.pem`, generated on first use. */
  static load(configuredPem: string | undefined, dataDir: string): SigningKeys {
    if (configuredPem) return SigningKeys.fromPem(configuredPem, 'JWT_PRIVATE_KEY');
    const file = join(dataDir, 'jwt-signing-key.pem');
    try {
      return SigningKeys.fromPem(readFileSync(file, 'utf8'), file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    mkdirSync(dataDir, { recursive: true });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, pem, { mode: 0o600 });
    renameSync(temporary, file);
    return SigningKeys.fromPem(readFileSync(file, 'utf8'), file);
  }

  private static fromPem(pem: string, source: string): SigningKeys {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(pem);
    } catch {
      throw new ConfigError(`Invalid configuration: ${source} must be a PEM-encoded private key`);
    }
    if (
      privateKey.asymmetricKeyType !== 'ec' ||
      privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new ConfigError(
        `Invalid configuration: ${source} must be an EC P-256 private key (ES256)`,
      );
    }
    return new SigningKeys(privateKey, createPublicKey(privateKey));
  }
}
