import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Bundles the CLI once, for the tests that start it as a process (test/support/cli-bundle.ts says why).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start real servers and processes and spend much of their time waiting on them: three workers
    // keep the 2 cores busy (two left them about a third idle, and the suite outgrew CI's 15 minutes) without the
    // oversubscription that pushes CLI and daemon tests past their timeouts.
    maxWorkers: 3,
    // The JSON report lets .ci/run print a plain 'N passed, N failed' closing line.
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
  },
});
