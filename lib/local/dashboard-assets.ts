/**
 * The dashboard's static files (`lib/local/dashboard/`): one HTML page, one script and one
 * stylesheet, plain and framework-free, read once when the API starts and served from memory.
 */
import { readFileSync } from 'node:fs';

/** A static file served by the local API. */
export interface StaticAsset {
  /** The request paths it answers. */
  readonly pattern: RegExp;
  readonly contentType: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** The page's policy: everything from this origin only, no inline script. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

const read = (name: string) => readFileSync(new URL(`./dashboard/${name}`, import.meta.url));

/** Reads the dashboard files. */
export function dashboardAssets(): StaticAsset[] {
  const common = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  return [
    { pattern: /^\/(index\.html)?$/, contentType: 'text/html; charset=utf-8', body: read('index.html'), headers: { ...common, 'content-security-policy': CSP } },
    { pattern: /^\/dashboard\.js$/, contentType: 'text/javascript; charset=utf-8', body: read('app.js'), headers: common },
    { pattern: /^\/dashboard\.css$/, contentType: 'text/css; charset=utf-8', body: read('style.css'), headers: common },
  ];
}
