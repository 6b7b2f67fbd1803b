/** Synthesises a stage's app in-process into a temp dir, for the infra tests. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageConfig } from '../../infra/config.ts';
import { buildApp } from '../../infra/stack.ts';

/** A synthesised stage: its template, the cloud assembly dir, and the cdk-nag report. */
export interface Synthesized {
  readonly template: Template;
  readonly outdir: string;
  readonly stackName: string;
  readonly nagReport: { pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[] };
}

/**
 * Synthesises `stage`. With `bundle: false` the functions are not bundled (fast template tests);
 * with `bundle: true` esbuild bundles both functions into the assembly, as `cdk synth` does.
 */
export function synthStage(stage: string, options: { bundle: boolean }): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), `jobtable-${stage}-`));
  const context = options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] };
  const { app, stack } = buildApp(stageConfig(stage), new App({ outdir, context }));
  const assembly = app.synth();
  const template = Template.fromJSON(JSON.parse(readFileSync(join(assembly.directory, stack.templateFile), 'utf8')));
  const nagReport = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
  return { template, outdir: assembly.directory, stackName: stack.stackName, nagReport };
}
