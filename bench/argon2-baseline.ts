/**
 * Baseline for the benchmark: how many argon2id verifies per second this machine does
 * with the service's parameters and libuv pool size, with `concurrency` verifies in
 * flight. Run as a child process (same UV_THREADPOOL_SIZE as the server); prints JSON.
 */
import argon2, { type HashOptions } from 'argon2';

const seconds = Number(process.argv[2] ?? 10);
const concurrency = Number(process.argv[3] ?? 10);
const options: HashOptions = {
  type: argon2.argon2id,
  memoryCost: Number(process.env.ARGON2_MEMORY_COST ?? 19_456),
  timeCost: Number(process.env.ARGON2_TIME_COST ?? 2),
  parallelism: Number(process.env.ARGON2_PARALLELISM ?? 1),
};

const hash = await argon2.hash('benchmark password', options);
const deadline = Date.now() + seconds * 1000;
let done = 0;
const started = Date.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (Date.now() < deadline) {
      await argon2.verify(hash, 'benchmark password');
      done += 1;
    }
  }),
);
const elapsed = (Date.now() - started) / 1000;
process.stdout.write(
  JSON.stringify({ verifies: done, seconds: elapsed, perSecond: done / elapsed }) + '\n',
);
