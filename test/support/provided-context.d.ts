// What test/global-setup.ts provides to the pool config and to the tests.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamPort: number;
    readmeQueries: string[];
  }
}
