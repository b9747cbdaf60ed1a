import 'reflect-metadata';
import { join } from 'node:path';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config.js';
import { loadEnvFile } from './config/env-file.js';
import { lowerHelperThreadPriority } from './common/runtime/thread-pool-priority.js';
import type { ClosingAwareFastifyAdapter } from './common/http/shutdown-gate.js';
import { DataDirInUseError } from './database/data-dir-lock.js';
import type { EmbeddedPostgres } from './database/embedded-postgres.js';

/**
 * Starts the service: configuration, then the embedded database when no DATABASE_URL is
 * set, then the app. SIGTERM/SIGINT: readiness answers 503 at once while requests are
 * still served for SHUTDOWN_DELAY (the load balancer's deregistration time); then the
 * listener closes, in-flight requests and the outbox worker finish (up to
 * SHUTDOWN_TIMEOUT), the database is closed and the process exits 0.
 */
async function main(): Promise<void> {
  loadEnvFile();
  const config = loadConfig();
  const embedded = config.database.url ? undefined : await startEmbedded(config);
  const app = await createApp(config, config.database.url ?? embedded!.url);
  await app.listen({ port: config.port, host: config.host });
  // After start-up, when libuv's pool and V8's helpers exist.
  const lowered = lowerHelperThreadPriority(config.threadPoolNiceness);
  process.stdout.write(
    JSON.stringify({
      level: 30,
      time: Date.now(),
      helperThreadsNiced: lowered,
      msg: `Listening on ${config.publicUrl} (bound to ${config.host}:${config.port}); docs at ${config.publicUrl}/docs; database: ${embedded ? 'embedded PGlite in ' + join(config.dataDir, 'pgdata') : 'DATABASE_URL'}`,
    }) + '\n',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const adapter = app.getHttpAdapter() as unknown as ClosingAwareFastifyAdapter;
    adapter.beginDrain();
    if (config.shutdownDelayMs > 0) {
      process.stdout.write(
        JSON.stringify({
          level: 30,
          time: Date.now(),
          msg: `${signal}: readiness now fails; serving for SHUTDOWN_DELAY (${config.shutdownDelayMs} ms), then draining`,
        }) + '\n',
      );
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
    }
    const timer = setTimeout(() => {
      process.stderr.write(`Shutdown timed out after ${config.shutdownTimeoutMs} ms (${signal})\n`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    await app.close();
    await embedded?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

/** Loaded only when needed: PGlite's WebAssembly costs memory a PostgreSQL deployment should not pay. */
async function startEmbedded(config: AppConfig): Promise<EmbeddedPostgres> {
  const { startEmbeddedPostgres } = await import('./database/embedded-postgres.js');
  return startEmbeddedPostgres({
    dataDir: join(config.dataDir, 'pgdata'),
    port: config.database.embeddedPort,
    idleInTransactionTimeoutMs: config.database.idleInTransactionTimeoutMs,
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirInUseError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(
      `Start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
