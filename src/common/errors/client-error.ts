import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { AppError } from './app-error.js';
import { ErrorCode } from './error-code.js';
import { toProblem } from './problem.js';

/**
 * Fastify's `clientErrorHandler`: answers a request Node's HTTP parser refused before any
 * request object existed (headers over `--max-http-header-size`, 16 KiB by default; a
 * malformed request line or header; a client too slow to send its headers) with a problem
 * document and the contract's headers, instead of Fastify's plain JSON. There is no
 * request to take an `X-Request-Id` from, so a fresh one is made. The connection is closed
 * afterwards, as Node and Fastify do: its framing is lost.
 */
export function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  baseHeaders: Record<string, string>,
): void {
  // A reset connection has nothing left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const { problem } = toProblem(clientErrorOf(error), requestId);
  const body = JSON.stringify(problem);
  const headers: Record<string, string> = {
    ...baseHeaders,
    'x-request-id': requestId,
    'cache-control': 'no-store',
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n');
  socket.end(`HTTP/1.1 ${problem.status} ${problem.title}\r\n${head}\r\n\r\n${body}`);
  // What the client still sends is read and dropped: closing with unread data would reset
  // the connection, and the client could lose the answer. A client that never closes its
  // side is cut off.
  socket.resume();
  socket.setTimeout(5_000, () => socket.destroy());
}

function clientErrorOf(error: NodeJS.ErrnoException): AppError {
  switch (error.code ?? '') {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError(
        ErrorCode.HEADERS_TOO_LARGE,
        'The request headers are too large (16 KiB at most, request line included).',
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return new AppError(ErrorCode.REQUEST_TIMEOUT);
    default:
      return new AppError(ErrorCode.VALIDATION_FAILED, 'The request is not valid HTTP/1.1.');
  }
}
