import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Keeps the caller's `X-Request-Id` when it is a UUID (so traces join up), else makes one. */
export function requestIdFor(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && UUID.test(incoming)
    ? incoming.toLowerCase()
    : randomUUID();
}

export function isUuid(text: string): boolean {
  return UUID.test(text);
}
