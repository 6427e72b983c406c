import { defineConfig } from 'vitest/config';

export default defineConfig({
  // One copy of graphql-js: Pothos and yoga load its CommonJS build; ESM imports of 'graphql'
  // in our code must resolve to the same one, or graphql-js refuses "another module or realm".
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Each test file gets its own database; two cores, so two files at a time.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
