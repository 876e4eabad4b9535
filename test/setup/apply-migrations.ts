import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { TestEnv } from '../support/gateway';

// The real migrations, applied to the test's real D1 before any test runs.
await applyD1Migrations((env as unknown as TestEnv).DB, (env as unknown as TestEnv).TEST_MIGRATIONS);
