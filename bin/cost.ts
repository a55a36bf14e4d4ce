/**
 * `npm run cost`: synthesizes the stack of the default fleet config (cdk.json's `config`, or the path given) without
 * bundling, and prints its monthly cost from the template (lib/cost-estimate.ts). `--write` puts the table into the
 * README, between its cost-table markers; a test fails while the README's table differs from the template's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { costOfConfig, costTableMarkdown, defaultConfigPath, withCostTable } from '../lib/cost-estimate.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const given = args.find((a) => !a.startsWith('--'));
const configPath = given === undefined ? defaultConfigPath(ROOT) : resolve(given);
const table = costTableMarkdown(costOfConfig(configPath, ROOT).estimate);
process.stdout.write(`${table}\n`);
if (args.includes('--write')) {
  const readme = join(ROOT, 'README.md');
  writeFileSync(readme, withCostTable(readFileSync(readme, 'utf8'), table));
  process.stdout.write('wrote the table into README.md\n');
}
