import { Injectable } from '@nestjs/common';
import argon2, { type HashOptions } from 'argon2';
import { AppConfig } from '../config/app-config.js';
import { hashedForm } from './password-text.js';

/**
 * argon2id hashing (OWASP parameters by default: m=19456 KiB, t=2, p=1). The work runs on
 * libuv's thread pool, never on the event loop, and at most `ARGON2_CONCURRENCY` hashes
 * at once (one per core by default): more would only share the same cores, each 19 MiB
 * hash pushing the others out of the CPU caches, and would fill libuv's pool, where file
 * and DNS work would then wait behind a whole login storm. The rest wait in line, in
 * arrival order.
 */
@Injectable()
export class PasswordService {
  private readonly options: HashOptions;
  /** Verified when the account does not exist, so unknown users cost one verify too. */
  private dummyHash: Promise<string> | undefined;
  private readonly limit: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(config: AppConfig) {
    const { concurrency, ...options } = config.argon2;
    this.options = { type: argon2.argon2id, ...options };
    this.limit = concurrency;
  }

  /** Hashes the password as typed, after NFC (`password-text.ts`). */
  hash(password: string): Promise<string> {
    return this.inTurn(() => argon2.hash(hashedForm(password), this.options));
  }

  /**
   * Verifies the NFC form; when the password as typed is not NFC, also the raw form, so
   * that a hash made before passwords were normalized (of an NFD-typed password) still
   * matches (README, "Security"). Only such input pays a second verify.
   */
  async verify(hash: string, password: string): Promise<boolean> {
    const normalized = hashedForm(password);
    if (await this.verifyExactly(hash, normalized)) return true;
    return normalized !== password && this.verifyExactly(hash, password);
  }

  private async verifyExactly(hash: string, password: string): Promise<boolean> {
    try {
      return await this.inTurn(() => argon2.verify(hash, password));
    } catch {
      return false; // a malformed stored hash never matches
    }
  }

  private async inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((go) => this.waiting.push(go));
    else this.running += 1;
    try {
      return await work();
    } finally {
      // The slot passes to the next in line, or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
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
