/** The bench's command line and the settings derived from it (see run.ts for the flags). */
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `dist/bench/lib`: the compiled bench, two levels below the checkout's `dist/`. */
export const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const root = resolve(here, '..', '..');
const args = process.argv.slice(2);
export const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string): string | undefined => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};
export const numberOption = (name: string, fallback: number) => Number(option(name) ?? fallback);

export const smoke = flag('smoke');
export const usePglite = flag('pglite') || !process.env.DATABASE_URL;
export const duration = numberOption('duration', smoke ? 0.3 : 10);
/**
 * Unmeasured load before a measured run (seconds), so that it measures the optimized code
 * of a server that has been running, not V8 still compiling the route's functions.
 */
export const warmup = smoke ? 0 : 5;
export const seedUsers = numberOption('users', smoke ? 2_000 : 1_000_000);
export const loginUsers = smoke ? 20 : 200;
/**
 * How long the fresh server is left alone before its idle RSS is read (see README): V8's
 * memory reducer gives back what start-up allocated some 20-35 s after the last activity.
 */
export const idleSeconds = smoke ? 0.5 : 45;
/** Pause after a start before the RSS is read. */
export const settleMs = smoke ? 200 : 2_000;
/** Free ports unless --port is given (then it and the next two), so parallel runs never collide. */
export const [appPort, baselinePort, embeddedPort] = option('port')
  ? [0, 1, 2].map((i) => numberOption('port', 0) + i)
  : await freePorts(3);
export const serverEntry = resolve(option('server') ?? join(root, 'dist', 'src', 'main.js'));
export const outStem = option('out') ?? (smoke ? 'smoke' : 'latest');
export const poolSize = 10;
export const threadPool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
export const password = 'benchmark passphrase 4711';

const began = Date.now();
export const log = (message: string) =>
  process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(1)}s] ${message}\n`);

export const sleep = (ms: number) => new Promise((wait) => setTimeout(wait, ms));

/** Ports the system has just handed out as free (all held at once, so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((done) =>
          server.listen(0, '127.0.0.1', () => done((server.address() as AddressInfo).port)),
        ),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}
