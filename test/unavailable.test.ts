// The outage classifier (src/common/errors/unavailable.ts) and what the problem mapping
// makes of it: a dependency that is down is a 503 with Retry-After, a bug stays a 500.
import pg from 'pg';
import { QueryFailedError } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { toProblem } from '../src/common/errors/problem.js';
import { isUnavailable, unavailableReason } from '../src/common/errors/unavailable.js';

function databaseError(code: string, message = 'boom'): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}

function socketError(code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`connect ${code} 127.0.0.1:5432`);
  error.code = code;
  return error;
}

describe('unavailableReason', () => {
  it.each([
    ['ECONNREFUSED', socketError('ECONNREFUSED')],
    ['ECONNRESET', socketError('ECONNRESET')],
    ['ETIMEDOUT', socketError('ETIMEDOUT')],
    ['EPIPE', socketError('EPIPE')],
    ['EHOSTUNREACH', socketError('EHOSTUNREACH')],
    ['EAI_AGAIN', socketError('EAI_AGAIN')],
    ['admin_shutdown 57P01', databaseError('57P01')],
    ['crash_shutdown 57P02', databaseError('57P02')],
    ['cannot_connect_now 57P03', databaseError('57P03')],
    ['too_many_connections 53300', databaseError('53300')],
    ['out_of_memory 53200', databaseError('53200')],
    ['connection_exception 08000', databaseError('08000')],
    ['connection_failure 08006', databaseError('08006')],
    ['sqlclient_unable_to_establish_sqlconnection 08001', databaseError('08001')],
    ['query_canceled (statement_timeout) 57014', databaseError('57014')],
    ['idle_in_transaction_session_timeout 25P03', databaseError('25P03')],
    ['pool acquire timeout', new Error('timeout exceeded when trying to connect')],
    ['connect timeout', new Error('Connection terminated due to connection timeout')],
    ['lost connection', new Error('Connection terminated unexpectedly')],
    ['query read timeout', new Error('Query read timeout')],
    ['broken client', new Error('Client has encountered a connection error and is not queryable')],
    [
      'our statement guard',
      new Error('Statement timeout after 3000 ms: the database is unreachable'),
    ],
  ])('%s is an outage', (_name, error) => {
    expect(isUnavailable(error)).toBe(true);
  });

  it('looks through TypeORM, Error.cause and AggregateError', () => {
    const wrapped = new QueryFailedError('SELECT 1', [], databaseError('57P01'));
    expect(unavailableReason(wrapped)).toBe('57P01');
    expect(unavailableReason(new Error('outer', { cause: socketError('ECONNRESET') }))).toBe(
      'ECONNRESET',
    );
    // What `net` throws when every address of a host refuses.
    const aggregate = new AggregateError([socketError('ECONNREFUSED')], 'connect failed');
    expect(unavailableReason(aggregate)).toBe('ECONNREFUSED');
  });

  it.each([
    ['unique_violation 23505', databaseError('23505')],
    ['syntax_error 42601', databaseError('42601')],
    ['undefined_table 42P01', databaseError('42P01')],
    ['deadlock 40P01', databaseError('40P01')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a RangeError', new RangeError('Maximum call stack size exceeded')],
    ['a string', 'ECONNRESET'],
    ['null', null],
    ['an unrelated file error', socketError('ENOENT')],
  ])('%s is not an outage', (_name, error) => {
    expect(isUnavailable(error)).toBe(false);
  });

  it('survives a cycle of causes', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isUnavailable(a)).toBe(false);
  });
});

describe('toProblem', () => {
  it('answers an outage with 503 SERVICE_UNAVAILABLE, Retry-After and no driver text', () => {
    const error = new QueryFailedError('SELECT secret FROM users', [], socketError('ECONNREFUSED'));
    const { problem, headers, unexpected, unavailable } = toProblem(error, 'req-1');
    expect(problem).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', requestId: 'req-1' });
    expect(JSON.stringify(problem)).not.toMatch(/ECONNREFUSED|SELECT|5432/);
    expect(Number(headers['retry-after'])).toBeGreaterThan(0);
    expect(unexpected).toBe(false);
    expect(unavailable).toBe('ECONNREFUSED');
  });

  it('keeps a bug a 500 INTERNAL, logged with its stack', () => {
    const { problem, unexpected, unavailable } = toProblem(new TypeError('oops'), 'req-2');
    expect(problem).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(unexpected).toBe(true);
    expect(unavailable).toBeUndefined();
  });
});
