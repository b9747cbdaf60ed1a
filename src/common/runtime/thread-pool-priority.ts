import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Raises the nice value of every thread of this process but the main one: libuv's thread
 * pool, where argon2 hashes, and V8's background threads. During a login storm the hashes
 * then use only the CPU the event loop leaves over, so the latency of every other request
 * holds; with nothing else to do they still get every core.
 *
 * Linux only (each thread is a task with its own nice value there); elsewhere, or when not
 * permitted, it changes nothing. Returns how many threads it lowered.
 */
export function lowerHelperThreadPriority(niceness: number): number {
  if (niceness <= 0 || process.platform !== 'linux') return 0;
  let lowered = 0;
  for (const task of helperThreads()) {
    try {
      setPriority(task, niceness);
      lowered += 1;
    } catch {
      // Not permitted or gone: the service works the same, only less smoothly under load.
    }
  }
  return lowered;
}

function helperThreads(): number[] {
  try {
    return readdirSync('/proc/self/task')
      .map(Number)
      .filter((task) => task !== process.pid);
  } catch {
    return [];
  }
}
