import { Injectable } from '@nestjs/common';
import argon2, { type HashOptions } from 'argon2';
import { AppError } from '../common/errors/app-error.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { AppConfig } from '../config/app-config.js';
import { verifyAnyHash, type LegacySecrets } from './legacy-hashes.js';
import { hashedForm } from './password-text.js';

/**
 * argon2id hashing (OWASP parameters by default: m=19456 KiB, t=2, p=1). The work runs on
 * libuv's thread pool, never on the event loop, and at most `ARGON2_CONCURRENCY` hashes
 * at once (one per core by default): more would only share the same cores, each 19 MiB
 * hash pushing the others out of the CPU caches, and would fill libuv's pool, where file
 * and DNS work would then wait behind a whole login storm. The rest wait in line, in
 * arrival order, at most `ARGON2_MAX_QUEUE` of them: one more is refused at once with
 * 503 SERVICE_UNAVAILABLE and a `Retry-After` of about the time the line takes to drain,
 * so a flood (from one account or many) costs everyone a bounded wait, never seconds.
 * What keeps one caller from filling the line are the rate limits of every hashing route.
 */
@Injectable()
export class PasswordService {
  private readonly options: HashOptions;
  /** Verified when the account does not exist, so unknown users cost one verify too. */
  private dummyHash: Promise<string> | undefined;
  private readonly limit: number;
  private readonly legacySecrets: LegacySecrets;
  private readonly maxQueue: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Moving average of one hash or verify, for the Retry-After of a refusal. */
  private averageMs = 100;

  constructor(config: AppConfig) {
    const { concurrency, maxQueue, ...options } = config.argon2;
    this.options = { type: argon2.argon2id, ...options };
    this.limit = concurrency;
    this.maxQueue = maxQueue;
    this.legacySecrets = config.legacyHashes;
  }

  /** Hashes the password as typed, after NFC (`password-text.ts`). */
  hash(password: string): Promise<string> {
    return this.inTurn(() => argon2.hash(hashedForm(password), this.options));
  }

  /**
   * Verifies the NFC form; when the password as typed is not NFC, also the raw form, so
   * that a hash made before passwords were normalized (of an NFD-typed password) still
   * matches (docs/security.md). Only such input pays a second verify.
   */
  async verify(hash: string, password: string): Promise<boolean> {
    const normalized = hashedForm(password);
    if (await this.verifyExactly(hash, normalized)) return true;
    return normalized !== password && this.verifyExactly(hash, password);
  }

  /**
   * A full line is refused (503), not taken for a wrong password: the catch is inside.
   * A hash of another format (an imported user's, `legacy-hashes.ts`) is verified as
   * stored, in the same line; the login then replaces it (`needsRehash`).
   */
  private verifyExactly(hash: string, password: string): Promise<boolean> {
    return this.inTurn(async () => {
      if (!hash.startsWith('$argon2')) return verifyAnyHash(hash, password, this.legacySecrets);
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false; // a malformed stored hash never matches
      }
    });
  }

  /** Runs `work` in a free slot, after those already waiting; refuses when the line is full. */
  private async inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxQueue) throw this.queueFull();
      await new Promise<void>((go) => this.waiting.push(go));
    } else this.running += 1;
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - started);
      // The slot passes to the next in line, or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  /** 503 with the seconds the current line needs to drain (1 to 60). */
  private queueFull(): AppError {
    const drainMs = ((this.waiting.length + this.running) / this.limit) * this.averageMs;
    const seconds = Math.min(60, Math.max(1, Math.ceil(drainMs / 1000)));
    return new AppError(
      ErrorCode.SERVICE_UNAVAILABLE,
      'Too many passwords are being checked right now; try again shortly.',
      undefined,
      { 'retry-after': String(seconds) },
    );
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
    // A refused first hash (queue full) must not be remembered as the dummy forever.
    this.dummyHash ??= this.hash('dummy password that never matches anything').catch(
      (error: unknown) => {
        this.dummyHash = undefined;
        throw error;
      },
    );
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
