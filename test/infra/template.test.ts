/**
 * Template tests of both stages (functions not bundled): the table from the schema, functions,
 * schedule, least-privilege IAM, alarms, stage retention settings and cdk-nag.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stageConfig, STAGES } from '../../infra/config.ts';
import { JobQueue } from '../../infra/job-queue.ts';
import { buildApp } from '../../infra/stack.ts';
import { ENV } from '../../lib/env.ts';
import { METRIC, METRICS_NAMESPACE, POWERTOOLS_ENV } from '../../lib/observability/names.ts';
import { TABLE, tableNameForStage } from '../../lib/schema.ts';
import { jobsTableDefinition } from '../../lib/store/create-table.ts';
import { synthStage } from './synth.ts';
import type { Synthesized } from './synth.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

const byType = (t: Template, type: string) => t.findResources(type) as Resources;
const only = (t: Template, type: string) => {
  const found = Object.entries(byType(t, type));
  expect(found).toHaveLength(1);
  return { logicalId: found[0]![0], ...found[0]![1] };
};
const fnNamed = (t: Template, name: string) => {
  const found = Object.entries(byType(t, 'AWS::Lambda::Function')).find(([, r]) => r.Properties.FunctionName === name);
  expect(found, `function ${name}`).toBeDefined();
  return { logicalId: found![0], ...found![1] };
};
/** All statements of the inline policies attached to the role of the function named `name`. */
const statementsOf = (t: Template, name: string) => {
  const roleRef = fnNamed(t, name).Properties.Role['Fn::GetAtt'][0];
  return Object.values(byType(t, 'AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleRef))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
};
const actionsOf = (s: any) => [s.Action].flat() as string[];

describe.each(['dev', 'prod'] as const)('stage %s', (stage) => {
  let s: Synthesized;
  let t: Template;
  let tableId: string;
  beforeAll(() => {
    s = synthStage(stage, { bundle: false });
    t = s.template;
    tableId = only(t, 'AWS::DynamoDB::Table').logicalId;
  }, 120_000); // synth + cdk-nag of a stage: ~10 s alone, slower when CI runs files side by side

  it('names the stack and resources after the stage', () => {
    expect(s.stackName).toBe(`jobtable-${stage}`);
    fnNamed(t, `jobtable-${stage}-enqueue`);
    fnNamed(t, `jobtable-${stage}-worker`);
    t.hasResourceProperties('AWS::Scheduler::Schedule', { Name: `jobtable-${stage}-worker` });
  });

  it('declares the table exactly as lib/store/create-table.ts defines it, with TTL and encryption', () => {
    const def = jobsTableDefinition(tableNameForStage(stage));
    const table = only(t, 'AWS::DynamoDB::Table').Properties;
    expect(table.TableName).toBe(tableNameForStage(stage));
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.KeySchema).toEqual(def.KeySchema);
    expect([...table.AttributeDefinitions].sort((a: any, b: any) => a.AttributeName.localeCompare(b.AttributeName))).toEqual(
      [...def.AttributeDefinitions!].sort((a, b) => a.AttributeName!.localeCompare(b.AttributeName!)),
    );
    expect(table.GlobalSecondaryIndexes).toEqual(def.GlobalSecondaryIndexes);
    expect(table.GlobalSecondaryIndexes[0].IndexName).toBe(TABLE.indexName);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: TABLE.ttlAttribute, Enabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it(`${stage === 'prod' ? 'keeps' : 'cleans up'} data: removal policy, PITR, deletion protection, log retention`, () => {
    const c = stageConfig(stage);
    const table = only(t, 'AWS::DynamoDB::Table');
    const policy = stage === 'prod' ? 'Retain' : 'Delete';
    expect(table.DeletionPolicy).toBe(policy);
    expect(table.UpdateReplacePolicy).toBe(policy);
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: stage === 'prod' });
    expect(table.Properties.DeletionProtectionEnabled).toBe(stage === 'prod');
    const logGroups = Object.values(byType(t, 'AWS::Logs::LogGroup'));
    expect(logGroups.map((g) => g.Properties.LogGroupName).sort()).toEqual(
      ['enqueue', 'schedule-target', 'stream', 'worker'].map((f) => `/aws/lambda/jobtable-${stage}-${f}`),
    );
    for (const g of logGroups) {
      expect(g.Properties.RetentionInDays).toBe(c.logRetention);
      expect(g.DeletionPolicy).toBe(policy);
    }
  });

  it('runs both functions on nodejs24.x with the env vars of lib/env.ts, the worker with reserved concurrency', () => {
    const c = stageConfig(stage);
    for (const name of ['enqueue', 'worker']) {
      const fn = fnNamed(t, `jobtable-${stage}-${name}`).Properties;
      expect(fn.Runtime).toBe('nodejs24.x');
      expect(fn.Handler).toBe('index.handler');
      expect(fn.Environment.Variables[ENV.tableName]).toEqual({ Ref: tableId });
      expect(fn.Environment.Variables[ENV.shardCount]).toBe('16');
      expect(fn.Environment.Variables[POWERTOOLS_ENV.serviceName]).toBe(`jobtable-${stage}`);
    }
    const worker = fnNamed(t, `jobtable-${stage}-worker`).Properties;
    expect(worker.ReservedConcurrentExecutions).toBe(c.workerReservedConcurrency);
    expect(worker.Environment.Variables[ENV.concurrency]).toBe(String(c.workerConcurrency));
    expect(worker.Environment.Variables[ENV.queue]).toBe('default');
    expect(worker.Timeout).toBe(900);
    expect(fnNamed(t, `jobtable-${stage}-enqueue`).Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('invokes the worker at rate(1 minute) with a retry policy and an SQS dead-letter queue', () => {
    const schedule = only(t, 'AWS::Scheduler::Schedule').Properties;
    const worker = fnNamed(t, `jobtable-${stage}-worker`);
    const dlq = only(t, 'AWS::SQS::Queue');
    expect(schedule.ScheduleExpression).toBe('rate(1 minute)');
    expect(schedule.State).toBe('ENABLED');
    expect(schedule.Target.Arn).toEqual({ 'Fn::GetAtt': [worker.logicalId, 'Arn'] });
    expect(schedule.Target.RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 });
    expect(schedule.Target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlq.logicalId, 'Arn'] } });
  });

  it('lets enqueue only PutItem/BatchWriteItem on the table', () => {
    const ddb = statementsOf(t, `jobtable-${stage}-enqueue`).filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')));
    expect(ddb).toEqual([{ Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'], Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } }]);
  });

  it('lets the worker only Query the index and UpdateItem on the table', () => {
    const ddb = statementsOf(t, `jobtable-${stage}-worker`).filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')));
    expect(ddb).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, `/index/${TABLE.indexName}`]] } },
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } },
    ]);
  });

  it('gives each function a role without managed policies that may write only to its own log group', () => {
    for (const name of ['enqueue', 'worker']) {
      const roleId = fnNamed(t, `jobtable-${stage}-${name}`).Properties.Role['Fn::GetAtt'][0];
      expect((byType(t, 'AWS::IAM::Role')[roleId]!.Properties.ManagedPolicyArns ?? [])).toEqual([]);
      const logs = statementsOf(t, `jobtable-${stage}-${name}`).filter((st) => actionsOf(st).some((a) => a.startsWith('logs:')));
      expect(logs).toHaveLength(1);
      expect(JSON.stringify(logs[0].Resource)).toMatch(/Logs/);
    }
  });

  it('alarms on dead letters, on the oldest due job age, and on schedule dead letters', () => {
    const c = stageConfig(stage);
    const dims = [{ Name: 'queue', Value: 'default' }, { Name: 'service', Value: `jobtable-${stage}` }];
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.jobsFailed,
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Dimensions: Match.arrayEquals(dims),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.oldestDueJobAge,
      Statistic: 'Maximum',
      Threshold: c.oldestDueJobAlarmAge.toMilliseconds(),
      TreatMissingData: 'breaching',
      Dimensions: Match.arrayEquals(dims),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS' });
    t.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  });

  it('passes cdk-nag AwsSolutions with zero unacknowledged findings', () => {
    const report = s.nagReport.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(report, 'the AwsSolutions plugin ran').toBeDefined();
    expect(report!.violations).toEqual([]);
    expect(report!.conclusion).toBe('success');
  });
});

describe('stage config', () => {
  it('rejects a missing or unknown stage with the list of stages', () => {
    expect(() => stageConfig(undefined)).toThrow(/Missing stage: pass -c stage=<name>, one of: dev, prod/);
    expect(() => stageConfig('qa')).toThrow(/Unknown stage "qa": use one of: dev, prod/);
    expect(() => stageConfig('toString')).toThrow(/Unknown stage/);
    expect(stageConfig('prod')).toBe(STAGES.prod);
  });
});

describe('cdk-nag gate', () => {
  it('fails the synth on an unacknowledged finding (the check is live, not just silent)', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'jobtable-nag-'));
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const { stack } = buildApp(stageConfig('dev'), app);
    new sqs.Queue(stack, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS2[\s\S]*AwsSolutions-SQS4/);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')).pluginReports[0];
    expect(report.conclusion).toBe('failure');
    expect(report.violations.map((v: any) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-SQS2', 'AwsSolutions-SQS4']));
  });
});

describe('grants', () => {
  it('grantEnqueue allows invoking the enqueue function; grantReadJobs allows reads on table and index only', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'GrantTest');
    const jobs = new JobQueue(stack, 'Jobs', { stage: 'test' });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    jobs.grantEnqueue(caller);
    jobs.grantReadJobs(caller);
    const t = Template.fromStack(stack);
    const callerId = stack.getLogicalId(caller.node.defaultChild as iam.CfnRole);
    const statements = Object.values(t.findResources('AWS::IAM::Policy') as Resources)
      .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === callerId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
    const enqueueId = stack.getLogicalId(jobs.enqueueFunction.node.defaultChild as any);
    const invoke = statements.find((st) => actionsOf(st).includes('lambda:InvokeFunction'));
    expect(JSON.stringify(invoke.Resource)).toContain(enqueueId);
    const read = statements.find((st) => actionsOf(st).includes('dynamodb:GetItem'));
    expect(actionsOf(read).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']);
    expect(JSON.stringify(read.Resource)).toContain(`/index/${TABLE.indexName}`);
    expect(statements.flatMap(actionsOf).filter((a) => /Put|Update|Delete|Write/.test(a))).toEqual([]);
  });
});
