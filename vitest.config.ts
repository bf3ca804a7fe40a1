import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Vite would load graphql's ESM build while graphql-ws and Apollo load the CommonJS one:
// two copies of graphql refuse each other's schema ("another module or realm").
const graphqlCjs = fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url));

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlCjs }] },
  test: {
    include: [
      'src/**/*.test.ts',
      'resolvers/**/*.test.ts',
      'subscriptions/**/*.test.ts',
      'gpu-worker/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Google's Firestore emulator (and the storage emulator) for the Google Cloud adapters.
    globalSetup: ['test/support/emulators/global-setup.ts'],
  },
});
