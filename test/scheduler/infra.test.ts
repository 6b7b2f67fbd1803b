/**
 * The `JobScheduling` construct, synthesised on its own in a stack with a streamed table and a
 * stand-in worker (inline code: no bundling), with the cdk-nag AwsSolutions checks.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
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
import { functionEntry, JobScheduling } from '../../infra/scheduling.ts';
import { ENV } from '../../lib/index.ts';
import { ATTR } from '../../lib/schema.ts';
import { streamFilterPattern } from '../../lib/scheduler/stream.ts';

let t: Template;
let nag: { pluginName: string; conclusion: string; violations: unknown[] }[];
const entries: string[] = [];

beforeAll(() => {
  const outdir = mkdtempSync(join(tmpdir(), 'jobtable-scheduling-'));
  const app = new App({ outdir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'SchedulingTest', { env: { account: '123456789012', region: 'eu-west-1' } });
  const table = new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: ATTR.id, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    stream: dynamodb.StreamViewType.NEW_IMAGE,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
  const role = (id: string) => new iam.Role(stack, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const inline = (id: string, o: { functionName: string; environment: Record<string, string>; timeout?: Duration; memorySize?: number }) =>
    new lambda.Function(stack, id, { ...o, runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})'), role: role(id) });
  const worker = inline('Worker', { functionName: 'jobtable-test-worker', environment: {} });
  const scheduling = new JobScheduling(stack, 'Scheduling', {
    stage: 'test',
    table,
    workerFunction: worker,
    environment: { [ENV.tableName]: table.tableName },
    functionFactory: (id, o) => {
      entries.push(o.entry);
      return inline(id, o);
    },
  });
  const api = inline('Api', { functionName: 'api', environment: scheduling.schedulerEnvironment });
  scheduling.grantManageSchedules(api);
  Validations.of(api.role!).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${scheduling.nagArn('r-*')}]`, reason: 'r-* of the stage group' });
  Validations.of(api.role!).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', reason: 'ListSchedules has no resource-level permissions.' });
  Validations.of(stack).acknowledge({ id: 'AwsSolutions-IAM4', reason: 'test stand-ins only' });
  const assembly = app.synth();
  t = Template.fromJSON(JSON.parse(readFileSync(join(assembly.directory, stack.templateFile), 'utf8')));
  nag = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')).pluginReports;
});

describe('JobScheduling', () => {
  it('creates the stage schedule group', () => {
    t.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'jobtable-test' });
  });

  it('triggers the stream function on pending jobs only, from the latest record, one retry chain per batch', () => {
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('StreamRole|Stream') },
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
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'jobtable-test-stream',
      Environment: {
        Variables: Match.objectLike({
          [ENV.scheduleGroup]: Match.anyValue(),
          [ENV.schedulerRoleArn]: Match.anyValue(),
          [ENV.recurringTargetArn]: Match.anyValue(),
          [ENV.wakeTargetArn]: Match.anyValue(),
        }),
      },
    });
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('"scheduler:CreateSchedule"');
    expect(policies).toContain(':schedule/jobtable-test/w-*');
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
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Resource: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Worker'), 'Arn'] }, { 'Fn::GetAtt': [Match.stringLikeRegexp('ScheduleTarget'), 'Arn'] }],
          }),
        ],
      },
    });
  });

  it('lets the schedule target only PutItem on the table', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Table'), 'Arn'] } }] },
    });
  });

  it('grantManageSchedules allows the r-* schedules of the group, listing, and passing the scheduler role', () => {
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^ApiRole') }] } }));
    for (const action of ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:GetSchedule', 'scheduler:DeleteSchedule', 'scheduler:ListSchedules', 'iam:PassRole']) {
      expect(policies).toContain(`"${action}"`);
    }
    expect(policies).toMatch(/\/r-\*/);
    expect(policies).not.toMatch(/\/w-\*/);
  });

  it('passes cdk-nag AwsSolutions with zero unacknowledged findings', () => {
    const report = nag.find((r) => r.pluginName === 'AwsSolutions');
    expect(report).toBeDefined();
    expect(report!.violations).toEqual([]);
  });

  it('bundles both function entries with esbuild', async () => {
    expect(entries.map((e) => e.split('/').pop())).toEqual(['schedule-target.ts', 'stream.ts']);
    expect(entries).toEqual([functionEntry('schedule-target'), functionEntry('stream')]);
    const out = await build({ entryPoints: entries, bundle: true, platform: 'node', format: 'esm', target: 'node22', write: false, outdir: 'out', logLevel: 'silent' });
    expect(out.errors).toEqual([]);
    expect(out.outputFiles.map((f) => f.path.split('/').pop()).sort()).toEqual(['schedule-target.js', 'stream.js']);
  });
});

describe('JobScheduling inside the JobQueue construct (dev stage)', () => {
  it('streams the jobs table to the stream function, which may wake the stage worker', async () => {
    const { synthStage } = await import('../infra/synth.ts');
    const s = synthStage('dev', { bundle: false });
    const table = Object.values(s.template.findResources('AWS::DynamoDB::Table'))[0]!;
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.anyValue(), 'StreamArn'] },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(streamFilterPattern()) }] },
    });
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'jobtable-dev-stream',
      Runtime: 'nodejs24.x',
      Environment: { Variables: Match.objectLike({ [ENV.scheduleGroup]: 'jobtable-dev', [ENV.wakeTargetArn]: { 'Fn::GetAtt': [Match.stringLikeRegexp('WorkerFunction'), 'Arn'] } }) },
    });
    s.template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'jobtable-dev-schedule-target', Runtime: 'nodejs24.x' });
    expect(s.nagReport.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!.violations).toEqual([]);
  }, 120_000);
});
