import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/** `npm run test:faults`: the long load tests (.ci/run runs them after `npm test`). */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/**/*.load.test.ts'],
    exclude: [],
    reporters: ['default', ['json', { outputFile: 'test-results/vitest-faults.json' }]],
  },
});
