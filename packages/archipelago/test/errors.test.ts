import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codes } from '../src/errors.js';

const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');

describe('error registry', () => {
  it('documents every code in the README error table', () => {
    const missing = Object.keys(codes).filter((c) => !readme.includes(`| \`${c}\` |`));
    expect(missing).toEqual([]);
  });
  it('uses the ARCH_E_ prefix for every code', () => {
    for (const c of Object.keys(codes)) expect(c).toMatch(/^ARCH_E_[A-Z_]+$/);
  });
});
