import type { FastifyRequest } from 'fastify';
import type { SessionMeta } from '../sessions/sessions.repository.js';

/** Who opened a session: the client IP (honouring `TRUST_PROXY`) and a bounded user agent. */
export function clientMeta(request: FastifyRequest): SessionMeta {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip || null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
  };
}
