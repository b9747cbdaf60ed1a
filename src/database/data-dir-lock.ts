import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/** Thrown when another live process holds the lock; its message is the one start-up line. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes `path` as the lock file of a data directory, as PostgreSQL's `postmaster.pid`: it
 * is created exclusively and holds this process's pid. A lock whose pid is no longer alive
 * (the previous process was killed) is stale and taken over; one whose pid is alive makes
 * this throw. The file is removed on `release()` and, as far as Node.js lets us, at exit.
 */
export function lockDataDir(path: string, what: string): DataDirLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readPid(path);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new DataDirInUseError(
          `${what} is in use by another process (pid ${holder}, lock file ${path}): the embedded database serves one process at a time; stop that one first, or set DATABASE_URL to share a PostgreSQL between instances`,
        );
      }
      // Stale (the pid is dead, or is ours after a restart in a fresh container): take it over.
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError;
      }
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.removeListener('exit', release);
      try {
        if (readPid(path) === process.pid) unlinkSync(path);
      } catch {
        // already gone
      }
    };
    process.on('exit', release);
    return { path, release };
  }
  throw new DataDirInUseError(`${what}: could not take the lock file ${path}`);
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
