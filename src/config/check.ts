/**
 * `npm run check` (Node, not the Worker): validates GATEWAY_CONFIG in every
 * environment of wrangler.toml with the same parser the Worker uses, so a config
 * that passes here is exactly one the Worker accepts. Exits 1 on the first bad one.
 * Usage: tsx src/config/check.ts [path/to/wrangler.toml]
 */
import { experimental_readRawConfig } from 'wrangler';
import { CONFIG_VAR, parseConfig } from './load';

type Vars = { vars?: Record<string, unknown> };

const path = process.argv[2] ?? 'wrangler.toml';
const { rawConfig } = experimental_readRawConfig({ config: path });
const environments: [string, Vars][] = [
  ['(top level)', rawConfig as Vars],
  ...Object.entries((rawConfig.env ?? {}) as Record<string, Vars>).map(([name, env]): [string, Vars] => [`env.${name}`, env]),
];

let failed = false;
for (const [name, env] of environments) {
  // wrangler does not inherit vars into environments: each must carry its own config.
  const result = parseConfig(env.vars?.[CONFIG_VAR]);
  if (result.ok) {
    const { providers, models, keys } = result.config;
    console.log(
      `ok   ${name}: ${Object.keys(providers).length} provider(s), ${Object.keys(models).length} model alias(es), ${Object.keys(keys).length} key(s)`,
    );
  } else {
    failed = true;
    console.error(`FAIL ${name}: ${result.error}`);
  }
}
process.exit(failed ? 1 : 0);
