import { app } from './http/app';

export { Limiter } from './limits/limiter';

export default app;
