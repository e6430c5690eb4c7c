import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shippedNodeFlags } from '../bench/bundle.ts';

describe("the Docker image's command", () => {
  it('runs node with flags node accepts, which the benchmark runs the relay with', () => {
    const flags = shippedNodeFlags();
    expect(flags).toEqual(['--max-semi-space-size=8']);
    const run = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('a flag node does not know is caught', () => {
    const run = spawnSync(process.execPath, ['--max-semi-spaces-size=8', '-e', 'process.exit(0)'], {
      encoding: 'utf8',
    });
    expect(run.status).not.toBe(0);
  });
});
