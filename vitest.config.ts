import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { testBindings } from './test/support/test-config.ts';

export default defineConfig(async () => {
  const migrations = await readD1Migrations('migrations');
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: { ...testBindings(inject('upstreamPort')), TEST_MIGRATIONS: migrations },
          // A Workers AI binding for the binding tests (wrangler.toml has none: it needs an
          // account): an RPC entrypoint whose run() posts to the fixture server. The real
          // binding runs in the caller's isolate and takes the call's AbortSignal; over
          // RPC that needs this flag (the pool cannot load miniflare's wrappedBindings).
          serviceBindings: { AI: { name: 'workers-ai-binding', entrypoint: 'WorkersAI' } },
          compatibilityFlags: ['enable_abortsignal_rpc'],
          workers: [
            {
              name: 'workers-ai-binding',
              modules: true,
              scriptPath: './test/fixtures/workers-ai-binding.mjs',
              compatibilityDate: '2026-05-01',
              bindings: { RUN_URL: `http://127.0.0.1:${inject('upstreamPort')}/workers-ai/binding/run` },
            },
          ],
        },
      })),
    ],
    test: {
      globalSetup: ['./test/global-setup.ts'],
      setupFiles: ['./test/setup/apply-migrations.ts'],
      include: ['test/**/*.test.ts'],
      testTimeout: 15_000,
    },
  };
});
