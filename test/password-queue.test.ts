// Unit test of the bounded argon2 line (issue 13, item 3): with one slot and room for one
// waiter, a third hash asked for while the first runs is refused at once with 503 and a
// Retry-After, and the first two still complete. Deterministic: the refusal is decided when
// the call is made, from the count of running and waiting hashes, not from any timing.
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/common/errors/app-error.js';
import { ErrorCode } from '../src/common/errors/error-code.js';
import { loadConfig } from '../src/config/app-config.js';
import { PasswordService } from '../src/users/password.service.js';

function service(env: Record<string, string>) {
  return new PasswordService(
    loadConfig({ ARGON2_MEMORY_COST: '1024', ARGON2_TIME_COST: '1', ...env }),
  );
}

describe('PasswordService line', () => {
  it('refuses beyond ARGON2_MAX_QUEUE with SERVICE_UNAVAILABLE and Retry-After', async () => {
    const passwords = service({ ARGON2_CONCURRENCY: '1', ARGON2_MAX_QUEUE: '1' });
    const running = passwords.hash('first password');
    const waiting = passwords.hash('second password');
    const refused = passwords.verify('$argon2id$whatever', 'third');
    await expect(refused).rejects.toBeInstanceOf(AppError);
    const error = (await refused.catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe(ErrorCode.SERVICE_UNAVAILABLE);
    expect(error.headers?.['retry-after']).toMatch(/^[1-9]\d*$/);
    await expect(running).resolves.toMatch(/^\$argon2id\$/);
    await expect(waiting).resolves.toMatch(/^\$argon2id\$/);
    // The line drained: the next one is served.
    expect(await passwords.verify(await running, 'first password')).toBe(true);
  });

  it('a malformed stored hash still never matches (and is no error)', async () => {
    const passwords = service({ ARGON2_CONCURRENCY: '1', ARGON2_MAX_QUEUE: '1' });
    expect(await passwords.verify('not a hash', 'x')).toBe(false);
  });

  it('a refused first dummy hash is not remembered', async () => {
    const passwords = service({ ARGON2_CONCURRENCY: '1', ARGON2_MAX_QUEUE: '1' });
    const busy = [passwords.hash('a'), passwords.hash('b')];
    await expect(passwords.verifyDummy('x')).rejects.toBeInstanceOf(AppError);
    await Promise.all(busy);
    expect(await passwords.verifyDummy('x')).toBe(false);
  });

  it('defaults to 32 waiters per slot, at least 64', () => {
    expect(loadConfig({ ARGON2_CONCURRENCY: '1' }).argon2.maxQueue).toBe(64);
    expect(loadConfig({ ARGON2_CONCURRENCY: '3', UV_THREADPOOL_SIZE: '8' }).argon2.maxQueue).toBe(
      96,
    );
    expect(loadConfig({ ARGON2_MAX_QUEUE: '5' }).argon2.maxQueue).toBe(5);
  });
});
