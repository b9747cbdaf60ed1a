import { Logger } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-code.js';
import { sendProblem } from '../errors/send-problem.js';

/**
 * The Fastify adapter, told when the application starts to close (the first step of
 * `app.close()`, before the shutdown hooks let in-flight work finish).
 */
export class ClosingAwareFastifyAdapter extends FastifyAdapter {
  private shutdownBegun = false;

  get shuttingDown(): boolean {
    return this.shutdownBegun;
  }

  override beforeClose(): void {
    this.shutdownBegun = true;
    super.beforeClose();
  }
}

/**
 * Once shutdown has begun, every new request (on a kept-alive connection, or on a connection
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
    if (!adapter.shuttingDown) {
      done();
      return;
    }
    void reply.header('connection', 'close');
    sendProblem(
      new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The server is shutting down; try again.'),
      request,
      reply,
      logger,
    );
  });
}
