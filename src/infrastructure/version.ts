// The service's version, from package.json (two folders up from both src/infrastructure and dist/infrastructure).
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const SERVICE_VERSION: string = (
  JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }
).version;
