import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codes, ERRORS, httpStatus, type ErrorCode } from '../src/errors.js';

const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
const sources = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = path.join(dir, f);
  return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith(`${path.sep}errors.ts`) ? [readFileSync(p, 'utf8')] : [];
});

describe('error registry', () => {
  it('documents every code and its status in the README error table', () => {
    const missing = (Object.keys(ERRORS) as ErrorCode[]).filter((c) => !readme.includes(`| \`${c}\` |`) || !new RegExp(`\\| \`${c}\` \\|[^\\n]*\\| ${httpStatus(c)} \\|`).test(readme));
    expect(missing).toEqual([]);
  });
  it('uses the ARCH_E_ prefix for every code, and a 4xx or 5xx status', () => {
    for (const [c, e] of Object.entries(ERRORS)) {
      expect(c).toMatch(/^ARCH_E_[A-Z_]+$/);
      expect(e.status >= 400 && e.status < 600, c).toBe(true);
      expect(codes[c as ErrorCode]).toBe(e.message);
    }
  });
  it('holds no code the toolkit never raises', () => {
    const text = sources(srcDir).join('\n');
    expect((Object.keys(ERRORS) as ErrorCode[]).filter((c) => !text.includes(`'${c}'`))).toEqual([]);
  });
});
