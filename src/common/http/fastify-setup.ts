import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-code.js';
import { MAX_INPUT_DEPTH, nestsDeeperThan } from './input-shape.js';

/**
 * Fastify-level behaviour of the contract: JSON is the only body type (415 otherwise; an
 * empty body counts as none) and `X-Request-Id` on every response. Errors raised before a
 * route handler runs (body too large, malformed JSON...) reach the global ProblemFilter
 * through the error handler Nest installs.
 *
 * Bodies are parsed by Fastify's own parser (secure-json-parse: `__proto__` and
 * `constructor.prototype` keys are refused), whose parsing does not recurse; a body that
 * nests deeper than `MAX_INPUT_DEPTH` is refused right after, before class-transformer
 * and class-validator (which do recurse) ever see it.
 */
export function configureFastify(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, body as string, (error, value) => {
      if (error) done(error);
      else if (nestsDeeperThan(value)) {
        done(
          new AppError(
            ErrorCode.VALIDATION_FAILED,
            `The request body nests deeper than ${MAX_INPUT_DEPTH} levels.`,
          ),
        );
      } else done(null, value);
    });
  });
  // POST /api/users/import reads NDJSON as a stream (its own size limit, user-import.controller.ts).
  fastify.addContentTypeParser('application/x-ndjson', (request, payload, done) => {
    if (request.url.split('?')[0] !== '/api/users/import') {
      done(new AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE));
      return;
    }
    done(null, payload);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
}
