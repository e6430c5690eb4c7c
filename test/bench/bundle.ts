import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A server the benchmark measures, compiled as the Docker image compiles the relay: esbuild
 * bundles the TypeScript into one ES module, run with plain `node` (no tsx, whose loader thread
 * and per-function `__name` wrappers production does not have). Dependencies stay in
 * node_modules (dynalite, which the local stack imports, loads a native addon by path); they
 * are JavaScript either way. Written to .data/bench/, built once per benchmark run (~0.1 s).
 */
const built = new Map<string, Promise<string>>();

export function bundled(script: string): Promise<string> {
  let outfile = built.get(script);
  if (!outfile) {
    outfile = build1(script);
    built.set(script, outfile);
  }
  return outfile;
}

async function build1(script: string): Promise<string> {
  const dir = join(ROOT, '.data', 'bench');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, basename(script).replace(/\.ts$/, '.mjs'));
  await bundleTo(join(ROOT, script), outfile);
  return outfile;
}

/**
 * Bundles `entryPoint` (an absolute path) into `outfile` as the benchmark bundles its servers. The
 * dependencies stay imports, resolved from where `outfile` is: put it under .data/bench/ to run
 * it on this checkout's node_modules.
 */
export async function bundleTo(entryPoint: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
}

const dockerfile = () => readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

/** The node flags the Docker image runs the relay with (its CMD), for the benchmark to run it alike. */
export function shippedNodeFlags(): string[] {
  const cmd = [...dockerfile().matchAll(/^CMD\s+(\[.*\])\s*$/gm)].at(-1)?.[1];
  const argv = cmd ? (JSON.parse(cmd) as string[]) : [];
  if (argv[0] !== 'node' || !argv.at(-1)?.endsWith('.mjs')) {
    throw new Error(`the Dockerfile's CMD is not ["node", ...flags, "<script>.mjs"]: ${cmd}`);
  }
  return argv.slice(1, -1);
}

/**
 * The environment the Docker image runs the relay in (the `ENV` lines of its last stage), for
 * the benchmark to run it alike: the malloc settings change its memory figures.
 */
export function shippedEnv(): Record<string, string> {
  const text = dockerfile();
  const lastStage = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const [, line] of lastStage.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of line!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`the Dockerfile's ENV is not KEY=VALUE ...: ${line}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}
