/**
 * The `JobScheduling` construct, synthesised on its own in a stack with a streamed table and a
 * stand-in worker (inline code: no bundling), with the cdk-nag AwsSolutions checks; then inside
 * the `JobTable` construct of the dev stage.
 */
import { App, Names, Stack, Validations } from 'aws-cdk-lib';
import type { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { build } from 'esbuild';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageModule } from '../../infra/bundling.ts';
import { stageConfig } from '../../infra/config.ts';
import { JobScheduling } from '../../infra/scheduling.ts';
import { buildApp } from '../../infra/stack.ts';
import { ENV } from '../../lib/env.ts';
import { ATTR } from '../../lib/schema.ts';
import { streamFilterPattern } from '../../lib/scheduler/stream-filter.ts';
import { fnOf, synthStage } from '../infra/synth.ts';

let t: Template;
let scheduling: JobScheduling;
let stack: Stack;
let nag: { pluginName: string; conclusion: string; violations: unknown[] }[];
const entries: string[] = [];

beforeAll(() => {
  const outdir = mkdtempSync(join(tmpdir(), 'jobtable-scheduling-'));
  const app = new App({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  stack = new Stack(app, 'SchedulingTest', { env: { account: '123456789012', region: 'eu-west-1' } });
  const table = new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: ATTR.id, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    stream: dynamodb.StreamViewType.NEW_IMAGE,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
  const role = (id: string) => new iam.Role(stack, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const inline = (id: string, o: { description: string; environment: Record<string, string>; timeout?: Duration; memorySize?: number }) =>
    new lambda.Function(stack, id, { ...o, runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})'), role: role(id) });
  const worker = inline('Worker', { description: 'stand-in worker', environment: {} });
  scheduling = new JobScheduling(stack, 'Scheduling', {
    table,
    workerFunction: worker,
    environment: { [ENV.tableName]: table.tableName },
    functionFactory: (id, { entry, ...o }) => {
      entries.push(entry);
      return inline(id, o);
    },
  });
  const api = inline('Api', { description: 'stand-in api', environment: scheduling.schedulerEnvironment });
  scheduling.grantManageSchedules(api);
  Validations.of(api.role!).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${scheduling.nagArn('r-*')}]`, reason: 'r-* of the deployment group' });
  Validations.of(api.role!).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', reason: 'ListSchedules has no resource-level permissions.' });
  Validations.of(stack).acknowledge({ id: 'AwsSolutions-IAM4', reason: 'test stand-ins only' });
  const assembly = app.synth();
  t = Template.fromJSON(JSON.parse(readFileSync(join(assembly.directory, stack.templateFile), 'utf8')));
  nag = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')).pluginReports;
});

/** The logical id of a construct's CloudFormation resource. */
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as any);

describe('JobScheduling', () => {
  it('creates one schedule group with the name CDK generates for it (none hard-coded)', () => {
    const group = scheduling.scheduleGroup.scheduleGroupName;
    expect(group).toBe(Names.uniqueResourceName(scheduling.scheduleGroup, { maxLength: 64, separator: '-' }));
    t.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    t.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: group });
    expect(scheduling.schedulerEnvironment[ENV.scheduleGroup]).toBe(group);
  });

  it('triggers the stream function on pending jobs only, from the latest record, one retry chain per batch', () => {
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(scheduling.streamFunction) },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Table'), 'StreamArn'] },
      StartingPosition: 'LATEST',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0,
      MaximumRetryAttempts: 3,
      BisectBatchOnFunctionError: true,
      MaximumRecordAgeInSeconds: 300,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(streamFilterPattern()) }] },
    });
    expect(streamFilterPattern()).toEqual({ eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { status: { S: ['pending'] } } } });
  });

  it('gives the stream function the scheduler environment, invoke on the worker, CreateSchedule on w-* and PassRole', () => {
    const group = scheduling.scheduleGroup.scheduleGroupName;
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^jobtable stream:'),
      Environment: {
        Variables: Match.objectLike({
          [ENV.scheduleGroup]: group,
          [ENV.schedulerRoleArn]: { 'Fn::GetAtt': [logicalId(scheduling.schedulerRole), 'Arn'] },
          [ENV.recurringTargetArn]: { 'Fn::GetAtt': [logicalId(scheduling.scheduleTargetFunction), 'Arn'] },
          [ENV.wakeTargetArn]: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Worker'), 'Arn'] },
        }),
      },
    });
    const streamRoleId = logicalId(scheduling.streamFunction.role as iam.Role);
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: streamRoleId }] } }));
    expect(policies).toContain('"scheduler:CreateSchedule"');
    expect(policies).toContain(`:schedule/${group}/w-*`);
    expect(policies).not.toContain('/r-*');
    expect(policies).toContain('"iam:PassRole"');
    expect(policies).toContain('"dynamodb:GetRecords"');
  });

  it('lets EventBridge Scheduler (this account only) invoke exactly the worker and the schedule target', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } })],
      },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(scheduling.schedulerRole) }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Resource: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Worker'), 'Arn'] }, { 'Fn::GetAtt': [logicalId(scheduling.scheduleTargetFunction), 'Arn'] }],
          }),
        ],
      },
    });
  });

  it('lets the schedule target only PutItem on the table', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(scheduling.scheduleTargetFunction.role as iam.Role) }],
      PolicyDocument: { Statement: [{ Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Table'), 'Arn'] } }] },
    });
  });

  it('grantManageSchedules allows the r-* schedules of the group, listing, and passing the scheduler role', () => {
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^ApiRole') }] } }));
    for (const action of ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:GetSchedule', 'scheduler:DeleteSchedule', 'scheduler:ListSchedules', 'iam:PassRole']) {
      expect(policies).toContain(`"${action}"`);
    }
    expect(policies).toContain(`:schedule/${scheduling.scheduleGroup.scheduleGroupName}/r-*`);
    expect(policies).not.toMatch(/\/w-\*/);
  });

  it('passes cdk-nag AwsSolutions with zero unacknowledged findings', () => {
    const report = nag.find((r) => r.pluginName === 'AwsSolutions');
    expect(report).toBeDefined();
    expect(report!.violations).toEqual([]);
  });

  it("bundles the package's own stream and schedule-target entries with esbuild", async () => {
    expect(entries).toEqual([packageModule('lambda/entries/schedule-target'), packageModule('lambda/entries/stream')]);
    expect(entries.map((e) => e.split('/').slice(-3).join('/'))).toEqual(['lambda/entries/schedule-target.ts', 'lambda/entries/stream.ts']);
    const out = await build({ entryPoints: entries, bundle: true, platform: 'node', format: 'esm', target: 'node22', write: false, outdir: 'out', logLevel: 'silent' });
    expect(out.errors).toEqual([]);
    expect(out.outputFiles.map((f) => f.path.split('/').pop()).sort()).toEqual(['schedule-target.js', 'stream.js']);
  });
});

describe('JobScheduling inside the JobTable construct (dev stage)', () => {
  it('streams the jobs table to the stream function, which may wake the stage worker', () => {
    const s = synthStage('dev', { bundle: false });
    const t = s.template;
    const table = Object.entries(t.findResources('AWS::DynamoDB::Table'));
    expect(table).toHaveLength(1);
    const [tableId, tableResource] = table[0]!;
    expect(tableResource.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    const stream = fnOf(t, 'stream');
    const worker = fnOf(t, 'worker');
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: stream.logicalId },
      EventSourceArn: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(streamFilterPattern()) }] },
    });
    expect(stream.Properties.Runtime).toBe('nodejs24.x');
    expect(stream.Properties.Environment.Variables).toMatchObject({
      [ENV.scheduleGroup]: s.stack.jobs.scheduling.scheduleGroup.scheduleGroupName,
      [ENV.wakeTargetArn]: { 'Fn::GetAtt': [worker.logicalId, 'Arn'] },
      [ENV.recurringTargetArn]: { 'Fn::GetAtt': [fnOf(t, 'schedule target').logicalId, 'Arn'] },
    });
    expect(fnOf(t, 'schedule target').Properties.Runtime).toBe('nodejs24.x');
    expect(s.nagReport.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!.violations).toEqual([]);
  }, 120_000);

  it("JobTable.grantManageSchedules delegates to its JobScheduling: r-* of the deployment's group, acknowledged as documented", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const { stack: stageStack } = buildApp(stageConfig('dev'), app);
    const api = new iam.Role(stageStack, 'Api', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    stageStack.jobs.grantManageSchedules(api);
    // The two wildcards its TSDoc says to acknowledge, as nagArn prints them: with them the cdk-nag gate passes.
    Validations.of(api).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${stageStack.jobs.scheduling.nagArn('r-*')}]`, reason: 'r-* of the group' });
    Validations.of(api).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', reason: 'ListSchedules has no resource-level permissions.' });
    const t = Template.fromStack(stageStack);
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stageStack.getLogicalId(api.node.defaultChild as iam.CfnRole) }] } }));
    expect(policies).toContain(`:schedule/${stageStack.jobs.scheduling.scheduleGroup.scheduleGroupName}/r-*`);
    expect(policies).toContain('"scheduler:ListSchedules"');
    expect(policies).toContain(stageStack.getLogicalId(stageStack.jobs.scheduling.schedulerRole.node.defaultChild as iam.CfnRole));
  }, 120_000);
});
