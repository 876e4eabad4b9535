import type { Env } from './env';
import { app } from './http/app';
import { runMaintenance } from './logging/maintenance';

export { Limiter } from './limits/limiter';
export { Health } from './routing/health-object';

export default {
  fetch: app.fetch,
  /** The cron trigger (wrangler.toml `[triggers]`): the call log's rollups and retention. A failure fails the run, visibly. */
  async scheduled(controller, env) {
    const report = await runMaintenance(env, controller.scheduledTime);
    console.log(`maintenance: ${JSON.stringify(report)}`);
  },
} satisfies ExportedHandler<Env>;
