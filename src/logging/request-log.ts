import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/**
 * The line of every request, as pino-http wrote it (`request completed`, or `request
 * errored` at level error for a 5xx): the `req` and `res` serializers of the logger keep
 * only the request id, method, path and status. Written from Fastify's onResponse hook,
 * and only built when the level lets it be written: at `LOG_LEVEL=warn` a request costs
 * logging nothing. A 503 (an outage or a drain, already logged once as a warning where it
 * was decided) is an ordinary `request completed` line, not an error.
 */
export function logRequests(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const failed = reply.statusCode >= 500 && reply.statusCode !== 503;
    if (logger.isLevelEnabled(failed ? 'error' : 'info')) {
      const line = {
        req: request.raw,
        res: reply.raw,
        responseTime: Math.round(reply.elapsedTime),
      };
      if (failed) logger.error(line, 'request errored');
      else logger.info(line, 'request completed');
    }
    done();
  });
}
