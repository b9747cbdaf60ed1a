import type { LoggerService } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toProblem } from './problem.js';

/** Writes the problem document for `error`; used by the Nest filter and Fastify's error handler. */
export function sendProblem(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: LoggerService,
): void {
  const { problem, headers, unexpected, unavailable } = toProblem(error, request.id);
  if (unavailable !== undefined) {
    logger.warn(
      { requestId: request.id, route: request.routeOptions.url, reason: unavailable },
      'Service unavailable: a dependency cannot be reached',
    );
  } else if (unexpected) {
    logger.error(
      { err: error, requestId: request.id, route: request.routeOptions.url },
      'Unhandled error',
    );
  }
  if (reply.sent) return;
  void reply
    .status(problem.status)
    .headers(headers)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send(JSON.stringify(problem));
}
