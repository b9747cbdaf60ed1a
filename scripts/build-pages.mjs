// Second half of `npm run build:pages` (tsc compiles pages/src first): copies the pages'
// HTML, CSS and icon into dist/public, next to their compiled scripts, so dist/ alone runs.
import { cpSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
cpSync(join(root, 'pages/public'), join(root, 'dist/public'), { recursive: true });
