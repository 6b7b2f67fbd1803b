/**
 * The dashboard's static files (`lib/local/dashboard/`): one HTML page, one script, one
 * stylesheet and the vendored chart library (uPlot, copied from its npm package into
 * `dashboard/vendor/`), read once when the API starts and served from memory, so the dashboard
 * works offline.
 *
 * Finding them: next to this module (running from source, or a build that copies the folder beside
 * the compiled file), else `lib/local/dashboard` under any folder above this module (a build into
 * `dist/` that ships `lib/local/dashboard` with the package). Both work wherever the package is
 * installed or moved, since every path is relative to this module's own location.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A static file served by the API. */
export interface StaticAsset {
  /** The request path it answers (for route listings). */
  readonly path: string;
  /** The request paths it answers. */
  readonly pattern: RegExp;
  readonly contentType: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** The page's policy: everything from this origin only, no inline script. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/** The folder of the dashboard's files, relative to a module: see the file comment. */
const SOURCE_FOLDER = join('lib', 'local', 'dashboard');

/**
 * The dashboard folder as seen from the module at `moduleUrl`.
 * @throws Error naming the places looked at, if there is none
 */
export function findDashboardDir(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const tried = [join(here, 'dashboard')];
  for (let dir = here; ; dir = dirname(dir)) {
    tried.push(join(dir, SOURCE_FOLDER));
    if (dir === parse(dir).root) break;
  }
  const found = tried.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`The dashboard's files are missing: looked for index.html in ${tried.slice(0, 3).join(', ')} and above`);
  return found;
}

/** Reads the dashboard files from `dir` (by default the one {@link findDashboardDir} finds). */
export function dashboardAssets(dir: string = findDashboardDir()): StaticAsset[] {
  const read = (name: string) => readFileSync(join(dir, name));
  const common = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  return [
    { path: '/', pattern: /^\/(index\.html)?$/, contentType: 'text/html; charset=utf-8', body: read('index.html'), headers: { ...common, 'content-security-policy': CSP } },
    { path: '/dashboard.js', pattern: /^\/dashboard\.js$/, contentType: js, body: read('app.js'), headers: common },
    { path: '/dashboard.css', pattern: /^\/dashboard\.css$/, contentType: css, body: read('style.css'), headers: common },
    { path: '/vendor/uplot.js', pattern: /^\/vendor\/uplot\.js$/, contentType: js, body: read('vendor/uplot.iife.min.js'), headers: common },
    { path: '/vendor/uplot.css', pattern: /^\/vendor\/uplot\.css$/, contentType: css, body: read('vendor/uplot.min.css'), headers: common },
  ];
}
