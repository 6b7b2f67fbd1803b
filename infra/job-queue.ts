/**
 * The `JobQueue` construct: the jobs table, the enqueue and worker functions, the every-minute
 * schedule that invokes the worker, and the alarms. Extend it through the exposed `table`,
 * `enqueueFunction`, `workerFunction` and `schedule`.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { ENV } from '../lib/env.ts';
import { METRIC, METRIC_DIMENSION, METRICS_NAMESPACE, POWERTOOLS_ENV, serviceNameForStage } from '../lib/observability/names.ts';
import { DEFAULT_SHARD_COUNT, TABLE, tableNameForStage } from '../lib/schema.ts';
import { jobsTableDefinition } from '../lib/store/create-table.ts';
import { JobScheduling } from './scheduling.ts';

/** Properties of {@link JobQueue}. */
export interface JobQueueProps {
  /** The stage; it names the table (`jobtable-<stage>-jobs`), functions, schedule and queue. */
  readonly stage: string;
  /** The queue the worker drains. @default "default" */
  readonly queue?: string;
  /** Write shards per queue; producers and workers share it. @default DEFAULT_SHARD_COUNT (16) */
  readonly shardCount?: number;
  /** Applies to the table, log groups and dead-letter queue. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
  /** Point-in-time recovery of the table. @default false */
  readonly pointInTimeRecovery?: boolean;
  /** Deletion protection of the table. @default false */
  readonly deletionProtection?: boolean;
  /** Retention of both functions' logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Reserved (and maximum) concurrency of the worker. @default 2 */
  readonly workerReservedConcurrency?: number;
  /** Jobs one worker invocation runs at once. @default 4 */
  readonly workerConcurrency?: number;
  /**
   * Timeout of the worker. A job is claimed only while its `timeoutMs` (plus 2 s lease grace and
   * a 5 s margin) fits in the invocation's remaining time, so jobs need `timeoutMs` well below it.
   * @default Duration.minutes(15)
   */
  readonly workerTimeout?: Duration;
  /** @default 512 */
  readonly workerMemorySize?: number;
  /** @default 256 */
  readonly enqueueMemorySize?: number;
  /** Retries of a failed scheduled invoke before it goes to the dead-letter queue. @default 2 */
  readonly scheduleRetryAttempts?: number;
  /** A scheduled invoke older than this is dropped to the dead-letter queue. @default Duration.minutes(5) */
  readonly scheduleMaxEventAge?: Duration;
  /** Alarm when the oldest due job has waited longer than this. @default Duration.minutes(15) */
  readonly oldestDueJobAlarmAge?: Duration;
  /** Actions (e.g. an SNS topic) for every alarm. @default none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const entry = (name: string) => fileURLToPath(new URL(`../functions/${name}.ts`, import.meta.url));

/** The table's CDK key schema, taken from the same CreateTable definition the runtime uses. */
function tableShape(tableName: string) {
  const def = jobsTableDefinition(tableName);
  const attr = (name: string): dynamodb.Attribute => {
    const t = def.AttributeDefinitions!.find((a) => a.AttributeName === name)!.AttributeType;
    return { name, type: t === 'N' ? dynamodb.AttributeType.NUMBER : t === 'B' ? dynamodb.AttributeType.BINARY : dynamodb.AttributeType.STRING };
  };
  const key = (schema: { AttributeName?: string; KeyType?: string }[] | undefined, type: 'HASH' | 'RANGE') => {
    const name = schema?.find((k) => k.KeyType === type)?.AttributeName;
    return name ? attr(name) : undefined;
  };
  const indexes = (def.GlobalSecondaryIndexes ?? []).map((gsi) => ({
    indexName: gsi.IndexName!,
    partitionKey: key(gsi.KeySchema, 'HASH')!,
    ...(key(gsi.KeySchema, 'RANGE') ? { sortKey: key(gsi.KeySchema, 'RANGE')! } : {}),
    projectionType: gsi.Projection!.ProjectionType as dynamodb.ProjectionType,
    ...(gsi.Projection!.NonKeyAttributes ? { nonKeyAttributes: gsi.Projection!.NonKeyAttributes } : {}),
  }));
  return { partitionKey: key(def.KeySchema, 'HASH')!, indexes };
}

/**
 * A complete jobtable deployment.
 *
 * @example
 * const jobs = new JobQueue(this, 'Jobs', { stage: 'dev' });
 * jobs.grantEnqueue(myFunction); // myFunction may now invoke the enqueue function
 */
export class JobQueue extends Construct {
  /** The jobs table (with its `status-run_at` index and TTL). */
  readonly table: dynamodb.Table;
  /** The enqueue function (`{ type, payload, ... }` -> `{ id }`). */
  readonly enqueueFunction: NodejsFunction;
  /** The worker function. */
  readonly workerFunction: NodejsFunction;
  /** The EventBridge Scheduler schedule that invokes the worker every minute. */
  readonly schedule: scheduler.Schedule;
  /** Failed scheduled invokes of the worker (after the schedule's retries). */
  readonly scheduleDeadLetterQueue: sqs.Queue;
  /** The alarms: dead letters, oldest due job age, schedule dead letters. */
  readonly alarms: { readonly deadLetters: cloudwatch.Alarm; readonly oldestDueJob: cloudwatch.Alarm; readonly scheduleDeadLetters: cloudwatch.Alarm };
  /** The queue the worker drains. */
  readonly queueName: string;
  /** ARN of the status/run_at index. */
  readonly indexArn: string;
  /** Prompt pickup (stream trigger), delayed-job wake-ups and recurring schedules (see infra/scheduling.ts). */
  readonly scheduling: JobScheduling;

  constructor(scope: Construct, id: string, props: JobQueueProps) {
    super(scope, id);
    const stage = props.stage;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const shardCount = props.shardCount ?? DEFAULT_SHARD_COUNT;
    this.queueName = props.queue ?? 'default';
    const serviceName = serviceNameForStage(stage);

    const shape = tableShape(tableNameForStage(stage));
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: tableNameForStage(stage),
      partitionKey: shape.partitionKey,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      // Feeds the stream function (prompt pickup and wake-ups, infra/scheduling.ts).
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? false },
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy,
    });
    for (const gsi of shape.indexes) this.table.addGlobalSecondaryIndex(gsi);
    this.indexArn = `${this.table.tableArn}/index/${TABLE.indexName}`;

    const common = {
      [ENV.tableName]: this.table.tableName,
      [ENV.shardCount]: String(shardCount),
      [ENV.queue]: this.queueName,
      [POWERTOOLS_ENV.serviceName]: serviceName,
    };
    this.enqueueFunction = this.fn('Enqueue', `jobtable-${stage}-enqueue`, {
      memorySize: props.enqueueMemorySize ?? 256,
      timeout: Duration.seconds(30),
      environment: common,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    this.workerFunction = this.fn('Worker', `jobtable-${stage}-worker`, {
      memorySize: props.workerMemorySize ?? 512,
      timeout: props.workerTimeout ?? Duration.minutes(15),
      reservedConcurrentExecutions: props.workerReservedConcurrency ?? 2,
      environment: { ...common, [ENV.concurrency]: String(props.workerConcurrency ?? 4) },
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });

    // Least privilege, from the calls lib/store makes on each path: enqueue = putJob (PutItem) and
    // putJobs (BatchWriteItem); drain = queryDue/nextScheduledMs (Query on the index) and
    // claim/complete/fail/progress (UpdateItem).
    this.enqueueFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'], resources: [this.table.tableArn] }),
    );
    this.workerFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [this.indexArn] }));
    this.workerFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [this.table.tableArn] }));

    this.scheduleDeadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetters', {
      queueName: `jobtable-${stage}-worker-schedule-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    // The schedule's role: LambdaInvoke grants it lambda:InvokeFunction on the worker and on
    // `<worker arn>:*` (its versions and aliases): a wildcard within this one function only.
    const scheduleRole = new iam.Role(this, 'WorkerScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: `jobtable-${stage}-worker schedule: invoke the worker, send to its dead-letter queue`,
    });
    const workerLogicalId = Stack.of(this).getLogicalId(this.workerFunction.node.defaultChild as lambda.CfnFunction);
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${workerLogicalId}.Arn>:*]`,
      reason: 'CDK grantInvoke adds <worker arn>:* for the versions and aliases of the worker function; the wildcard covers only that one function.',
    });
    this.schedule = new scheduler.Schedule(this, 'WorkerSchedule', {
      scheduleName: `jobtable-${stage}-worker`,
      description: `Drains due jobs of queue "${this.queueName}" every minute`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      target: new LambdaInvoke(this.workerFunction, {
        retryAttempts: props.scheduleRetryAttempts ?? 2,
        maxEventAge: props.scheduleMaxEventAge ?? Duration.minutes(5),
        deadLetterQueue: this.scheduleDeadLetterQueue,
        role: scheduleRole,
      }),
    });

    const metric = (metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        statistic,
        period,
        dimensionsMap: { [METRIC_DIMENSION.service]: serviceName, [METRIC_DIMENSION.queue]: this.queueName },
      });
    this.alarms = {
      deadLetters: new cloudwatch.Alarm(this, 'DeadLettersAlarm', {
        alarmName: `jobtable-${stage}-dead-letters`,
        alarmDescription: 'Jobs failed for good (used all attempts). List them with listJobs({ status: "failed" }) and redrive with retryJob.',
        metric: metric(METRIC.jobsFailed, 'Sum', Duration.minutes(5)),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      oldestDueJob: new cloudwatch.Alarm(this, 'OldestDueJobAlarm', {
        alarmName: `jobtable-${stage}-oldest-due-job`,
        alarmDescription:
          'A due job has waited too long: workers are behind or failing. The worker publishes this every minute, so missing data (no worker runs) also alarms.',
        metric: metric(METRIC.oldestDueJobAge, 'Maximum', Duration.minutes(1)),
        threshold: (props.oldestDueJobAlarmAge ?? Duration.minutes(15)).toMilliseconds(),
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      scheduleDeadLetters: new cloudwatch.Alarm(this, 'ScheduleDeadLettersAlarm', {
        alarmName: `jobtable-${stage}-worker-schedule-dead-letters`,
        alarmDescription: 'Scheduled invokes of the worker failed after their retries.',
        metric: this.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };
    for (const alarm of Object.values(this.alarms)) for (const action of props.alarmActions ?? []) alarm.addAlarmAction(action);

    this.scheduling = new JobScheduling(this, 'Scheduling', {
      stage,
      table: this.table,
      workerFunction: this.workerFunction,
      environment: common,
      functionFactory: (fnId, o) =>
        this.fn(fnId, o.functionName, { ...o, logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy }),
    });
  }

  /** Lets `grantee` invoke the enqueue function (what `LambdaJobClient` needs). */
  grantEnqueue(grantee: iam.IGrantable): iam.Grant {
    return this.enqueueFunction.grantInvoke(grantee);
  }

  /** Lets `grantee` read jobs: GetItem, BatchGetItem, Query and Scan on the table and its index. */
  grantReadJobs(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'],
      resourceArns: [this.table.tableArn, this.indexArn],
    });
  }

  /** A bundled function with its own log group and a role that may write only to that log group. */
  private fn(
    id: string,
    functionName: string,
    o: {
      memorySize: number;
      timeout: Duration;
      environment: Record<string, string>;
      logRetention: logs.RetentionDays;
      removalPolicy: RemovalPolicy;
      reservedConcurrentExecutions?: number;
      /** Entry file. @default functions/<id in lower case>.ts */
      entry?: string;
    },
  ): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { logGroupName: `/aws/lambda/${functionName}`, retention: o.logRetention, removalPolicy: o.removalPolicy });
    const role = new iam.Role(this, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: `${functionName}: logs and its own table access only` });
    logGroup.grantWrite(role);
    return new NodejsFunction(this, `${id}Function`, {
      functionName,
      entry: o.entry ?? entry(id.toLowerCase()),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: o.memorySize,
      timeout: o.timeout,
      role,
      logGroup,
      environment: o.environment,
      ...(o.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: o.reservedConcurrentExecutions } : {}),
      projectRoot: ROOT,
      depsLockFilePath: `${ROOT}package-lock.json`,
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        target: 'node22',
        // Bundle everything (AWS SDK included): the artifact is self-contained and pinned.
        externalModules: [],
        minify: true,
        // Error classes name themselves with `new.target.name`: minifying must keep class names.
        keepNames: true,
        banner: "import { createRequire as __jtCreateRequire } from 'node:module'; const require = __jtCreateRequire(import.meta.url);",
      },
    });
  }
}
