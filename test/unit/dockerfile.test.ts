import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shippedEnv, shippedNodeFlags } from '../bench/bundle.ts';

describe("the Docker image's command", () => {
  it('runs node with flags node accepts, which the benchmark runs the relay with', () => {
    const flags = shippedNodeFlags();
    expect(flags).toEqual([
      '--max-semi-space-size=8',
      '--heap-growing-percent=100',
      '--no-allocation-site-pretenuring',
    ]);
    const run = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('sets the environment the benchmark runs the relay in: glibc malloc with two arenas and a fixed mmap threshold', () => {
    expect(shippedEnv()).toEqual({ NODE_ENV: 'production', MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' });
  });

  it('applies patches/ in its build stage, where npm ci runs no install scripts', () => {
    const build = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8').split(/^FROM /m)[1]!;
    const at = (text: string) => build.indexOf(text);
    expect(at('COPY patches ./patches')).toBeGreaterThan(-1);
    expect(at('npm ci --no-audit --no-fund --ignore-scripts')).toBeGreaterThan(at('COPY patches ./patches'));
    expect(at('npx patch-package --error-on-fail')).toBeGreaterThan(at('--ignore-scripts'));
    expect(at('npx esbuild')).toBeGreaterThan(at('npx patch-package'));
    // The build context is only what .dockerignore lets through.
    const context = readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8').split('\n');
    expect(context).toContain('!patches');
  });

  it('a flag node does not know is caught', () => {
    const run = spawnSync(process.execPath, ['--max-semi-spaces-size=8', '-e', 'process.exit(0)'], {
      encoding: 'utf8',
    });
    expect(run.status).not.toBe(0);
  });
});
