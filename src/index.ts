import { app } from './http/app';

export { Limiter } from './limits/limiter';
export { Health } from './routing/health-object';

export default app;
