import type { FastifyInstance } from 'fastify';

/**
 * Fastify-level behaviour of the contract: JSON is the only body type (415 otherwise; an
 * empty body counts as none) and `X-Request-Id` on every response. Errors raised before a
 * route handler runs (body too large, malformed JSON...) reach the global ProblemFilter
 * through the error handler Nest installs.
 */
export function configureFastify(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, body as string, done);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
}
