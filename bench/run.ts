/**
 * `npm run bench` (full) or `npm run bench -- --quick`: runs every benchmark part against one
 * DynamoDB Local, writes `bench/results/full-<timestamp>.json` and `full-latest.json` (quick:
 * `quick-latest.json` only),
 * and, for a full run, the tables of `docs/performance.md` (between its generated markers).
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBench } from './bench.ts';
import { renderMarkdown } from './report.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BEGIN = '<!-- generated:bench -->';
const END = '<!-- /generated:bench -->';

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const results = await runBench({ quick });
  const dir = resolve(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const mode = quick ? 'quick' : 'full';
  const stamp = results.environment.date.replace(/[:.]/g, '-');
  // Quick runs keep only the latest file; full runs keep every run.
  const jsonPath = resolve(dir, quick ? 'quick-latest.json' : `${mode}-${stamp}.json`);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(jsonPath, json);
  writeFileSync(resolve(dir, `${mode}-latest.json`), json);
  const md = renderMarkdown(results, relative(root, jsonPath));
  if (!quick) {
    const docPath = resolve(root, 'docs/performance.md');
    const existing = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
    const block = `${BEGIN}\n${md}\n${END}`;
    const next = existing.includes(BEGIN) && existing.includes(END)
      ? existing.slice(0, existing.indexOf(BEGIN)) + block + existing.slice(existing.indexOf(END) + END.length)
      : `${block}\n${existing}`;
    writeFileSync(docPath, next);
  }
  process.stdout.write(`${md}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
