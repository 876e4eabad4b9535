import type { TestProject } from 'vitest/node';
import { startUpstream } from './fixtures/upstream';

/** Starts the fixture upstream on 127.0.0.1 (port 0) and hands its port to the pool and the tests. */
export default async function setup(project: TestProject) {
  const upstream = await startUpstream();
  project.provide('upstreamPort', upstream.port);
  return () => upstream.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamPort: number;
  }
}
