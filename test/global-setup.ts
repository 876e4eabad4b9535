import { readFileSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { startUpstream } from './fixtures/upstream';

/**
 * Starts the fixture upstream on 127.0.0.1 (port 0) and hands its port to the pool
 * and the tests; also hands over the README's admin queries, so a test runs them.
 */
export default async function setup(project: TestProject) {
  const upstream = await startUpstream();
  project.provide('upstreamPort', upstream.port);
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  project.provide('readmeQueries', [...readme.matchAll(/--command "([^"]+)"/g)].map((m) => m[1]!));
  return () => upstream.close();
}
