import { config as dotenv } from 'dotenv';

/** Reads `.env` from the working directory when present; real environment variables win. */
export function loadEnvFile(): void {
  dotenv({ quiet: true });
}
