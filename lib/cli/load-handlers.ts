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
import { CliError, EXIT } from './exit.ts';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
const SUPPORTED = new Set([...TYPESCRIPT, '.js', '.mjs', '.cjs']);

/** Registers the project's `tsx` loader (its ESM API, found from `cwd`); false if the project has none. */
async function registerTsx(cwd: string): Promise<boolean> {
  let pkgPath: string;
  try {
    pkgPath = createRequire(join(cwd, 'package.json')).resolve('tsx/package.json');
  } catch {
    return false;
  }
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> };
  const entry = pkg.exports?.['./esm/api']?.import?.default;
  if (!entry) return false;
  const api = (await import(pathToFileURL(join(dirname(pkgPath), entry)).href)) as { register: () => unknown };
  api.register();
  return true;
}

/** True if `err` says Node cannot load this file type by itself. */
function isUnknownExtension(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING';
}

/**
 * Imports `path`. For TypeScript it registers the project's tsx first, if there is one (a failed
 * import is cached by URL, so there is no second try); without tsx, Node may strip types itself.
 */
async function importModule(path: string, cwd: string): Promise<Record<string, unknown>> {
  const typescript = TYPESCRIPT.has(extname(path));
  const withTsx = typescript && (await registerTsx(cwd));
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    if (typescript && !withTsx && isUnknownExtension(err)) {
      throw new CliError(`cannot load the TypeScript module ${path}: this Node cannot strip types; install tsx in your project (npm i -D tsx) or pass a compiled .js module`, EXIT.usage);
    }
    throw err;
  }
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
    throw new CliError(`--handlers: could not load "${modulePath}": ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
  }
  const handlers = mod.handlers ?? (mod.default as Record<string, unknown> | undefined)?.handlers;
  if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers)) {
    throw new CliError(`--handlers: "${modulePath}" must have a named export \`handlers\`: an object mapping job types to handlers (export const handlers = { send_email: async (payload) => ... })`, EXIT.usage);
  }
  const bad = Object.entries(handlers).find(([, h]) => typeof h !== 'function' && (typeof h !== 'object' || h === null || typeof (h as { handler?: unknown }).handler !== 'function'));
  if (bad) throw new CliError(`--handlers: handler "${bad[0]}" in "${modulePath}" must be a function or an object { handler, onFailed? }`, EXIT.usage);
  if (Object.keys(handlers).length === 0) throw new CliError(`--handlers: "${modulePath}" exports no handlers`, EXIT.usage);
  return handlers as Handlers;
}
