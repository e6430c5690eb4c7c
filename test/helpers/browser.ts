import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { startTestStack } from './stack.ts';

/** Debian's Chromium (`apt-get install chromium`); playwright never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** In CI the browser must be there (.ci/run installs it); elsewhere the browser tests say why they skip. */
export const browserAvailable = existsSync(CHROMIUM) || process.env.CI === 'true';
if (!browserAvailable)
  process.stderr.write(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)\n`);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Where the browser tests leave screenshots of what a person sees. */
export const SCREENSHOTS = 'test-results/screenshots';

/**
 * A local stack and Chromium for one browser test file: started before its tests (when Chromium
 * is there), stopped after them. The returned object is filled in by then.
 */
type StackOptions = Parameters<typeof startTestStack>[0];

export function useBrowserStack(options: StackOptions | (() => Promise<StackOptions>) = {}): {
  stack: LocalStack;
  browser: Browser;
} {
  const env = {} as { stack: LocalStack; browser: Browser };
  beforeAll(async () => {
    if (!browserAvailable) return;
    mkdirSync(SCREENSHOTS, { recursive: true });
    env.stack = await startTestStack(typeof options === 'function' ? await options() : options);
    env.browser = await launchChromium();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.stack?.stop();
  });
  return env;
}
