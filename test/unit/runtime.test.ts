import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

describe('the runtime', () => {
  it('is Node.js 24, as in Lambda, whatever node the machine has', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });

  it('is pinned to Node.js 24 in package.json, for npm scripts to find first', () => {
    expect(manifest.devDependencies.node).toMatch(/^\^?24\./);
    expect(manifest.engines.node).toBe('>=24');
  });

  it('installs no patched dependency', () => {
    expect(manifest.scripts.postinstall).toBeUndefined();
    expect(manifest.devDependencies['patch-package']).toBeUndefined();
  });
});
