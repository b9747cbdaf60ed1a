import { Module } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { LoggerOptions } from 'pino';
import { AppConfig } from '../config/app-config.js';
import { redactLogObject, redactSerialized, safeError, scrubText } from './redaction.js';

type RequestWithId = IncomingMessage & { id?: string };

/**
 * JSON-lines logs through pino, one line per request with its id, method, path (never the
 * query string, which can hold a token), status and time. Headers, cookies and bodies are
 * never logged; secrets in anything else that is logged are redacted (see redaction.ts).
 *
 * nestjs-pino serves the Nest `Logger` and builds the root pino logger (with the options
 * below), but runs no middleware (`forRoutes: []`): its pino-http middleware built and
 * serialized a child logger for every request, whether or not the level let anything be
 * written, and its per-request AsyncLocalStorage turns on promise hooks for the whole
 * process. The request line is written by a Fastify hook instead (request-log.ts), only
 * when its level is enabled; the few lines logged while handling a request name the
 * request id themselves.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        forRoutes: [],
        pinoHttp: {
          level: config.logLevel,
          ...redactingOptions,
          serializers: {
            req: (
              request: RequestWithId & { method?: string; url?: string; remoteAddress?: string },
            ) =>
              redactSerialized({
                id: request.id,
                method: request.method,
                path: request.url?.split('?')[0],
              }),
            res: (response: { statusCode: number }) =>
              redactSerialized({ statusCode: response.statusCode }),
            err: safeError,
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}

/** The pino options that keep secrets out of every line, whoever logs it. */
const redactingOptions: Pick<LoggerOptions, 'formatters' | 'hooks'> = {
  formatters: {
    log: redactLogObject,
    bindings: redactLogObject,
  },
  hooks: {
    // Free text: the message and any interpolation arguments.
    logMethod(args, method) {
      const [first, ...rest] = args as unknown[];
      const scrubbed = [first, ...rest.map((arg) => scrubArgument(arg))];
      if (typeof first === 'string') scrubbed[0] = scrubText(first);
      return method.apply(this, scrubbed as Parameters<typeof method>);
    },
  },
};

function scrubArgument(arg: unknown): unknown {
  if (typeof arg === 'string') return scrubText(arg);
  if (typeof arg === 'object' && arg !== null) return redactLogObject({ arg }).arg;
  return arg;
}
