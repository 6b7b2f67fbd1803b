/**
 * Loads the user's handlers module for `jobtable start --handlers <module>` and `jobtable work
 * --handlers <module>`: a module whose named export `handlers` maps job types to handlers.
 * `.js`/`.mjs`/`.cjs` load as they are; `.ts`/`.mts`/`.cts` load through the project's own `tsx`
 * (found from the working directory), else through Node's own type stripping where it has it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Handlers } from '../types.ts';
import { validateHandlerMap } from '../worker/process-options.ts';
import { CliError, EXIT } from './exit.ts';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
const SUPPORTED = new Set([...TYPESCRIPT, '.js', '.mjs', '.cjs']);

/** The project's `tsx` ESM API (found from `cwd`), or undefined if the project has none. */
async function projectTsx(cwd: string): Promise<{ tsImport: (specifier: string, parentURL: string) => Promise<unknown> } | undefined> {
  let pkgPath: string;
  try {
    pkgPath = createRequire(join(cwd, 'package.json')).resolve('tsx/package.json');
  } catch {
    return undefined;
  }
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> };
  const entry = pkg.exports?.['./esm/api']?.import?.default;
  return entry ? import(pathToFileURL(join(dirname(pkgPath), entry)).href) : undefined;
}

/** True if `err` says Node cannot load this file type by itself. */
function isUnknownExtension(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING';
}

/**
 * Imports `path`. TypeScript goes through the project's tsx (`tsImport`, which also handles a
 * `.ts` file in a CommonJS-scoped project, the layout `cdk init` creates); without tsx, Node may
 * strip types itself.
 */
async function importModule(path: string, cwd: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  if (!TYPESCRIPT.has(extname(path))) return (await import(url)) as Record<string, unknown>;
  const tsx = await projectTsx(cwd);
  if (tsx) return (await tsx.tsImport(url, pathToFileURL(join(cwd, 'package.json')).href)) as Record<string, unknown>;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    if (isUnknownExtension(err)) {
      throw new CliError(`cannot load the TypeScript module ${path}: this Node cannot strip types; install tsx in your project (npm i -D tsx) or pass a compiled .js module`, EXIT.usage);
    }
    throw err;
  }
}

/** Where an import failed, for the message: the error and the first frames of its stack. */
function describeLoadError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at |^file:|^\//.test(l)).slice(0, 3);
  return [err.message, ...frames.map((f) => `  ${f.trim()}`)].join('\n');
}

/**
 * Loads and checks a handlers module.
 * @throws CliError (exit 2) if the file is missing, cannot be loaded, or has no valid `handlers` export
 */
export async function loadHandlers(modulePath: string, cwd: string = process.cwd()): Promise<Handlers> {
  const path = resolve(cwd, modulePath);
  if (!SUPPORTED.has(extname(path))) throw new CliError(`--handlers must be a .js, .mjs, .cjs, .ts, .mts or .cts module, got "${modulePath}"`, EXIT.usage);
  if (!existsSync(path)) throw new CliError(`--handlers: no such file "${modulePath}" (resolved to ${path})`, EXIT.usage);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(path, cwd);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`--handlers: could not load "${modulePath}": ${describeLoadError(err)}`, EXIT.usage);
  }
  const handlers = mod.handlers ?? (mod.default as Record<string, unknown> | undefined)?.handlers;
  if (handlers === undefined) {
    throw new CliError(`--handlers: "${modulePath}" must have a named export \`handlers\`: an object mapping job types to handlers (export const handlers = { send_email: async (payload) => ... })`, EXIT.usage);
  }
  try {
    validateHandlerMap(handlers);
  } catch (err) {
    throw new CliError(`--handlers: "${modulePath}": ${(err as Error).message}`, EXIT.usage);
  }
  return handlers as Handlers;
}
