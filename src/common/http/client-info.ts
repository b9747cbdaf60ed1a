import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Who sent a request, as sessions and audit events record it. */
export interface ClientInfo {
  /** The client IP: the socket peer, or the forwarded client when `TRUST_PROXY` believes it. */
  readonly ip: string | null;
  /** The `User-Agent` header, at most 512 characters. */
  readonly userAgent: string | null;
  /** The request id (`X-Request-Id`), to join an event to its log lines. */
  readonly requestId: string | null;
}

/** For work done outside any request (start-up, command-line tools). */
export const NO_CLIENT: ClientInfo = Object.freeze({ ip: null, userAgent: null, requestId: null });

export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip || null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
    requestId: request.id || null,
  };
}

/** The `ClientInfo` of the current request, as a handler parameter. */
export const Client = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ClientInfo =>
    clientInfo(context.switchToHttp().getRequest<FastifyRequest>()),
);
