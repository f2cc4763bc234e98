// The toolkit's own npm name and version, as generated files (scaffold, Dockerfile) refer to it.
import { readFileSync } from 'node:fs';

// src/toolkit.ts and dist/toolkit.js both sit one folder below package.json.
export const TOOLKIT = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { readonly name: string; readonly version: string };
