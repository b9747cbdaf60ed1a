/**
 * `value` as JSON text for a `$n::jsonb` parameter. PostgreSQL refuses, as
 * `invalid input syntax for type json`, the escapes JSON.stringify writes for a lone UTF-16
 * surrogate (`\ud800`) and for U+0000, which request text can carry (a login identifier, a
 * name): both become U+FFFD here, so that an audit row or an outbox message is written
 * rather than the request failing with a 500.
 */
export function jsonbText(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'string' ? item.replace(UNREPRESENTABLE, '\ufffd') : item,
  );
}

/** U+0000, a high surrogate not followed by a low one, a low one not preceded by a high one. */
const UNREPRESENTABLE =
  /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * For `jsonb` columns written through TypeORM: the same cleaning as `jsonbText`, applied
 * to the value before TypeORM serializes it.
 */
export const jsonbColumn = {
  to: (value: unknown): unknown =>
    value === null || value === undefined ? value : (JSON.parse(jsonbText(value)) as unknown),
  from: (value: unknown): unknown => value,
};
