/**
 * Shape checks on untrusted input (JSON bodies, query strings, path parameters), done
 * before any recursive code (class-transformer, class-validator, our own checks) sees it.
 * Both walks are iterative, so no input can exhaust the call stack.
 */

/**
 * How deeply arrays and objects may nest in a request body: `{}` is depth 1,
 * `{"a":[1]}` depth 2. No DTO of the API nests more than two levels; anything deeper is
 * refused with `400 VALIDATION_FAILED`.
 */
export const MAX_INPUT_DEPTH = 32;

/** True when `value` nests arrays or objects more than `max` levels deep. */
export function nestsDeeperThan(value: unknown, max: number = MAX_INPUT_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * The fields (dotted paths, `[i]` for array items) whose text holds U+0000, which JSON and
 * query strings can carry but no PostgreSQL text value can. Returned in document order.
 */
export function fieldsWithNul(value: unknown): string[] {
  const found: string[] = [];
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [item, path] = stack.pop()!;
    if (typeof item === 'string') {
      if (item.includes('\0')) found.push(path || 'value');
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    const entries: [string, unknown][] = Object.entries(item as Record<string, unknown>);
    // Reversed onto the stack, so that they come off it in order.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      const childPath = Array.isArray(item) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      stack.push([child, childPath]);
    }
  }
  return found;
}
