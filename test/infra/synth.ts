/**
 * Synthesis and template queries for the infra tests: a stage's app (built the way a user builds
 * theirs, through `jobtable/cdk`), a bare stack of `JobTable`s, and finders for the functions,
 * roles and physical names of a template.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stageConfig } from '../../infra/config.ts';
import { buildApp } from '../../infra/stack.ts';
import type { JobTableStack } from '../../infra/stack.ts';

/** The cdk-nag validation report of an assembly. */
export interface NagReport {
  readonly pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
}

/** A synthesised stage: its template, the cloud assembly dir, the stack and the cdk-nag report. */
export interface Synthesized {
  readonly template: Template;
  readonly outdir: string;
  readonly stackName: string;
  /** The stack's artifact id (names its `<id>.assets.json` in the assembly). */
  readonly artifactId: string;
  readonly stack: JobTableStack;
  readonly nagReport: NagReport;
}

/** Context that turns bundling off (fast template tests). */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

const readJson = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));

/**
 * Synthesises `stage`. With `bundle: false` the functions are not bundled (fast template tests);
 * with `bundle: true` esbuild bundles every function into the assembly, as `cdk synth` does.
 */
export function synthStage(stage: string, options: { bundle: boolean }): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), `jobtable-${stage}-`));
  const { app, stack } = buildApp(stageConfig(stage), new App({ outdir, context: options.bundle ? {} : NO_BUNDLING }));
  const assembly = app.synth();
  return {
    template: Template.fromJSON(readJson(assembly.directory, stack.templateFile)),
    outdir: assembly.directory,
    stackName: stack.stackName,
    artifactId: stack.artifactId,
    stack,
    nagReport: readJson(assembly.directory, 'validation-report.json'),
  };
}

/** A bare stack synthesised without bundling, with or without the cdk-nag AwsSolutions checks. */
export interface BareSynth<T> {
  readonly template: Template;
  readonly stack: Stack;
  /** What `build` returned. */
  readonly built: T;
  /** Undefined unless `nag` was asked for. */
  readonly nagReport?: NagReport;
}

/** Builds a stack with `build` (bundling off) and synthesises it. */
export function synthBare<T>(build: (stack: Stack) => T, options: { nag?: boolean } = {}): BareSynth<T> {
  const outdir = mkdtempSync(join(tmpdir(), 'jobtable-bare-'));
  const app = new App({ outdir, context: NO_BUNDLING });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Bare');
  const built = build(stack);
  const assembly = app.synth();
  return {
    template: Template.fromJSON(readJson(assembly.directory, stack.templateFile)),
    stack,
    built,
    ...(options.nag ? { nagReport: readJson(assembly.directory, 'validation-report.json') } : {}),
  };
}

/** A template resource. */
export interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, any>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** The resources of `type`, by logical id. */
export const byType = (t: Template, type: string) => t.findResources(type) as Record<string, Resource>;

/** The one resource of `type` (fails the test unless there is exactly one). */
export function only(t: Template, type: string): Resource & { logicalId: string } {
  const found = Object.entries(byType(t, type));
  expect(found, type).toHaveLength(1);
  return { logicalId: found[0]![0], ...found[0]![1] };
}

/** The functions of a `JobTable`, by the first words of their Description. */
export const FUNCTION_KINDS = ['enqueue', 'worker', 'stream', 'schedule target'] as const;
/** One of {@link FUNCTION_KINDS}. */
export type FunctionKind = (typeof FUNCTION_KINDS)[number];

/**
 * The one function of `kind` (its Description starts `jobtable <kind>:`) whose logical id starts
 * with `idPrefix` (the JobTable's construct id, when a stack has several).
 */
export function fnOf(t: Template, kind: FunctionKind, idPrefix = ''): Resource & { logicalId: string } {
  const found = Object.entries(byType(t, 'AWS::Lambda::Function')).filter(
    ([id, r]) => id.startsWith(idPrefix) && String(r.Properties.Description ?? '').startsWith(`jobtable ${kind}:`),
  );
  expect(found, `functions "jobtable ${kind}:" under ${idPrefix || 'the stack'}`).toHaveLength(1);
  return { logicalId: found[0]![0], ...found[0]![1] };
}

/** All statements of the inline policies attached to the role with logical id `roleId`. */
export function statementsOfRole(t: Template, roleId: string): any[] {
  return Object.values(byType(t, 'AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
}

/** The logical id of the role a function runs as. */
export const roleIdOf = (fn: Resource) => fn.Properties.Role['Fn::GetAtt'][0] as string;

/** The actions of a policy statement, as a list. */
export const actionsOf = (s: any) => [s.Action].flat() as string[];

/** Per resource type, the property that would fix its physical name. */
export const PHYSICAL_NAME_PROPS: Readonly<Record<string, string>> = {
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::Scheduler::ScheduleGroup': 'Name',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::IAM::Role': 'RoleName',
};

/** Every physical name set in the template, as `<logical id>.<property>` -> value. */
export function physicalNames(t: Template): Record<string, unknown> {
  const names: Record<string, unknown> = {};
  for (const [type, prop] of Object.entries(PHYSICAL_NAME_PROPS)) {
    for (const [id, r] of Object.entries(byType(t, type))) if (r.Properties?.[prop] !== undefined) names[`${id}.${prop}`] = r.Properties[prop];
  }
  return names;
}
