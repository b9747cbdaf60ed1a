import { Injectable } from '@nestjs/common';
import argon2, { type HashOptions } from 'argon2';
import { AppConfig } from '../config/app-config.js';

/**
 * argon2id hashing (OWASP parameters by default: m=19456 KiB, t=2, p=1). The work runs on
 * libuv's thread pool, never on the event loop.
 */
@Injectable()
export class PasswordService {
  private readonly options: HashOptions;
  /** Verified when the account does not exist, so unknown users cost one verify too. */
  private dummyHash: Promise<string> | undefined;

  constructor(config: AppConfig) {
    this.options = { type: argon2.argon2id, ...config.argon2 };
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, this.options);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false; // a malformed stored hash never matches
    }
  }

  /** True when `hash` was made with other (weaker or older) parameters than the configured ones. */
  needsRehash(hash: string): boolean {
    try {
      return !hash.startsWith('$argon2id$') || argon2.needsRehash(hash, this.options);
    } catch {
      return true;
    }
  }

  /** Spends the same time as a real verify, for a login whose account does not exist. */
  async verifyDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash('dummy password that never matches anything');
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
