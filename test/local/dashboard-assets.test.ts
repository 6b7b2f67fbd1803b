/**
 * The dashboard's files are found from the module's own location, so they are served when the
 * code is compiled to dist/ and when the package is installed or moved anywhere: tried here by
 * compiling `dashboard-assets.ts` with esbuild into relocated package layouts in a temp dir.
 * The vendored chart library is the npm package's file, unmodified.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { dashboardAssets, findDashboardDir } from '../../lib/local/dashboard-assets.ts';

const root = mkdtempSync(join(tmpdir(), 'jobtable-assets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Compiles the module to `<pkg>/dist/lib/local/dashboard-assets.js` and imports it. */
async function compiled(pkg: string): Promise<typeof import('../../lib/local/dashboard-assets.ts')> {
  const outfile = join(pkg, 'dist', 'lib', 'local', 'dashboard-assets.js');
  await build({ entryPoints: ['lib/local/dashboard-assets.ts'], outfile, format: 'esm', platform: 'node', bundle: true, logLevel: 'silent' });
  return import(pathToFileURL(outfile).href);
}

const source = (name: string) => readFileSync(join('lib', 'local', 'dashboard', name));

describe('dashboard assets', () => {
  it('are found from dist/ when the package ships lib/local/dashboard beside it', async () => {
    const pkg = join(root, 'installed', 'node_modules', 'jobtable');
    cpSync('lib/local/dashboard', join(pkg, 'lib', 'local', 'dashboard'), { recursive: true });
    const mod = await compiled(pkg);
    expect(mod.findDashboardDir()).toBe(join(pkg, 'lib', 'local', 'dashboard'));
    const assets = mod.dashboardAssets();
    expect(assets.map((a) => a.path)).toEqual(['/', '/dashboard.js', '/dashboard.css', '/vendor/uplot.js', '/vendor/uplot.css']);
    expect(assets[1]!.body.equals(source('app.js'))).toBe(true);
    expect(assets[3]!.body.equals(source('vendor/uplot.iife.min.js'))).toBe(true);
  });

  it('are found when a build copies the folder next to the compiled module', async () => {
    const pkg = join(root, 'copied');
    cpSync('lib/local/dashboard', join(pkg, 'dist', 'lib', 'local', 'dashboard'), { recursive: true });
    const mod = await compiled(pkg);
    expect(mod.findDashboardDir()).toBe(join(pkg, 'dist', 'lib', 'local', 'dashboard'));
    expect(mod.dashboardAssets()[0]!.body.equals(source('index.html'))).toBe(true);
  });

  it('name where they were looked for when they are missing', async () => {
    const mod = await compiled(join(root, 'bare'));
    expect(() => mod.findDashboardDir()).toThrow(/The dashboard's files are missing: looked for index.html in .*bare/);
  });

  it('come from source as they are, and the vendored uPlot is the npm package\'s file', () => {
    expect(findDashboardDir()).toBe(join(process.cwd(), 'lib', 'local', 'dashboard'));
    const assets = dashboardAssets();
    expect(assets[0]!.headers['content-security-policy']).toContain("script-src 'self'");
    expect(source('vendor/uplot.iife.min.js').equals(readFileSync('node_modules/uplot/dist/uPlot.iife.min.js'))).toBe(true);
    expect(source('vendor/uplot.min.css').equals(readFileSync('node_modules/uplot/dist/uPlot.min.css'))).toBe(true);
    const version = JSON.parse(readFileSync('node_modules/uplot/package.json', 'utf8')).version;
    expect(source('vendor/uplot.iife.min.js').toString('utf8', 0, 80)).toContain(`(v${version})`);
  });
});
