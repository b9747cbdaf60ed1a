import { Logger } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-code.js';
import { sendProblem } from '../errors/send-problem.js';
import { UNAVAILABLE_RETRY_AFTER_S } from '../errors/unavailable.js';

/**
 * The Fastify adapter, told when the drain begins (SIGTERM: readiness fails, requests are
 * still served for SHUTDOWN_DELAY) and when the application starts to close (the first
 * step of `app.close()`, before the shutdown hooks let in-flight work finish).
 */
export class ClosingAwareFastifyAdapter extends FastifyAdapter {
  private shutdownBegun = false;
  private drainBegun = false;

  get shuttingDown(): boolean {
    return this.shutdownBegun;
  }

  get draining(): boolean {
    return this.drainBegun;
  }

  beginDrain(): void {
    this.drainBegun = true;
  }

  override beforeClose(): void {
    this.shutdownBegun = true;
    super.beforeClose();
  }
}

/** The readiness probe, which fails as soon as the drain begins. */
const READINESS_PATH = '/health/ready';

/**
 * From SIGTERM on, readiness answers `503 SERVICE_UNAVAILABLE` (the load balancer takes the
 * instance out) while every other request is still served, with `Connection: close` so
 * that clients reconnect (to another instance). Once shutdown has begun, every new request (on a kept-alive connection, or on a connection
 * accepted before the listener closes) gets `503 SERVICE_UNAVAILABLE` as problem+json with
 * `Connection: close`, so clients and load balancers retry elsewhere; requests already
 * running are not affected and complete. (Instead of Nest's `return503OnClosing`, whose body
 * is not a problem document.)
 */
export function refuseNewRequestsWhenClosing(
  fastify: FastifyInstance,
  adapter: ClosingAwareFastifyAdapter,
): void {
  const logger = new Logger('Shutdown');
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!adapter.draining && !adapter.shuttingDown) {
      done();
      return;
    }
    void reply.header('connection', 'close');
    if (!adapter.shuttingDown && request.url.split('?')[0] !== READINESS_PATH) {
      done();
      return;
    }
    sendProblem(
      new AppError(
        ErrorCode.SERVICE_UNAVAILABLE,
        'The server is shutting down; try again.',
        undefined,
        { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) },
      ),
      request,
      reply,
      logger,
    );
  });
}
