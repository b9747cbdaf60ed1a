import { randomUUID } from 'node:crypto';
import { type Api, type ApiResponse, describeResponse, sleep } from './http.js';

/** One item of `GET /api/audit-events`. */
export interface AuditEvent {
  id: string;
  type: string;
  userId: string | null;
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
  createdAt: string;
  metadata: Record<string, any>;
}

/** Every event matching `query` (userId, type), newest first, read page by page. */
export async function auditEvents(
  api: Api,
  adminToken: string,
  query: { userId?: string; type?: string } = {},
): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for (let page = 1; ; page++) {
    const params = new URLSearchParams({ ...query, page: String(page), limit: '100' });
    const res = await api.get(`/api/audit-events?${params.toString()}`, { token: adminToken });
    if (res.status !== 200) throw new Error(`audit-events failed: ${describeResponse(res)}`);
    events.push(...(res.body.items as AuditEvent[]));
    if (events.length >= res.body.total || res.body.items.length === 0) return events;
  }
}

/** The events a request wrote (they carry its `X-Request-Id` in `metadata.requestId`). */
export async function eventsOfRequest(
  api: Api,
  adminToken: string,
  requestId: string,
  query: { userId?: string; type?: string } = {},
): Promise<AuditEvent[]> {
  const all = await auditEvents(api, adminToken, query);
  return all.filter((event) => event.metadata.requestId === requestId);
}

/** Headers that identify a request: a fresh `X-Request-Id`, a user agent, maybe more. */
export function traced(extra: Record<string, string> = {}): {
  requestId: string;
  headers: Record<string, string>;
} {
  const requestId = randomUUID();
  return { requestId, headers: { 'x-request-id': requestId, ...extra } };
}

/** Sends until the answer is not 429 (a lock or window ending), polling every 250 ms. */
export async function untilNotLimited(
  send: () => Promise<ApiResponse>,
  timeoutMs = 60_000,
): Promise<ApiResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await send();
    if (res.status !== 429) return res;
    if (Date.now() > deadline) throw new Error(`still 429 after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** `Retry-After` as a number of seconds; fails unless it is a positive whole number. */
export function retryAfter(res: ApiResponse): number {
  const value = res.headers.get('retry-after') ?? '';
  if (!/^[1-9]\d*$/.test(value)) {
    throw new Error(
      `expected Retry-After in whole seconds, got "${value}": ${describeResponse(res)}`,
    );
  }
  return Number(value);
}
