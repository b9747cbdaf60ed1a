import type { LoggerService } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { sendProblem } from '../errors/send-problem.js';

/**
 * Fastify-level behaviour of the contract: JSON is the only body type (415 otherwise; an
 * empty body counts as none), `X-Request-Id` on every response, and problem+json for
 * errors raised before a route handler runs (body too large, malformed JSON...).
 */
export function configureFastify(fastify: FastifyInstance, logger: LoggerService): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (request, body, done) => {
      if (body === '') {
        done(null, undefined);
        return;
      }
      parseJson(request, body as string, done);
    },
  );
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  fastify.setErrorHandler((error, request, reply) => {
    sendProblem(error, request, reply, logger);
  });
}
