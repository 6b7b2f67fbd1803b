/**
 * The `JobTable` construct: a complete jobtable deployment in your CDK app. The jobs table, the
 * enqueue function, the worker function running your handlers, a minute tick per served queue
 * (the safety net that drains anything prompt pickup missed, including jobs whose worker died),
 * prompt pickup and wake-ups (`./scheduling.ts`), and alarms per queue.
 */
import { Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, parseQueueList } from '../lib/env.ts';
import { LimitsError, ValidationError } from '../lib/errors.ts';
import { validateInteger, validateShardCount } from '../lib/model/validate.ts';
import { validateLimits } from '../lib/model/limits.ts';
import type { LimitsByQueue } from '../lib/model/limits.ts';
import { METRIC, METRIC_DIMENSION, METRICS_NAMESPACE, POWERTOOLS_ENV } from '../lib/observability/names.ts';
import { DEFAULT_SHARD_COUNT, TABLE } from '../lib/schema.ts';
import { wakeEvent } from '../lib/scheduler/wake-event.ts';
import { jobsTableDefinition } from '../lib/store/table-definition.ts';
import { bundlingTarget, jobFunction, packageModule, resolveHandlersEntry, writeWorkerEntry } from './bundling.ts';
import type { JobFunctionSettings } from './bundling.ts';
import { JobScheduling } from './scheduling.ts';

/** Properties of {@link JobTable}. */
export interface JobTableProps {
  /**
   * Your handlers module (`.ts`, `.mts`, `.js` or `.mjs`), relative to the working directory: its
   * named export `handlers` maps each job type to its handler. It is bundled into the worker.
   */
  readonly handlersEntry: string;
  /**
   * The queues this deployment serves. Each gets a minute tick of the worker and its own alarms;
   * the enqueue function (and `queueFromEnv()`) refuses any other queue, since no worker would run it.
   * @default ["default"]
   */
  readonly queues?: readonly string[];
  /** Write shards per queue; producers and workers share it. @default DEFAULT_SHARD_COUNT (16) */
  readonly shardCount?: number;
  /** The `service` of logs and metrics. @default a name unique to this construct in the app */
  readonly serviceName?: string;
  /**
   * What happens to the table (and log groups, dead-letter queue) when the stack is deleted or
   * the construct is removed. Stateful, so kept by default, as in the rest of the CDK.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** Point-in-time recovery of the table. @default true */
  readonly pointInTimeRecovery?: boolean;
  /** Deletion protection of the table. @default false */
  readonly deletionProtection?: boolean;
  /** Retention of the functions' logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Flow-control limits per served queue (`{ emails: { group: { concurrency: 2, rate: { limit:
   * 20, intervalMs: 1000 } } } }`, see `QueueLimits`), carried to every function in
   * `JOBTABLE_LIMITS` so that every worker enforces the same. Checked at synth (a `LimitsError`
   * naming the field). @default none
   */
  readonly limits?: LimitsByQueue;
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
  /**
   * Memory of the worker function, MB. Lambda gives CPU in proportion to it (one vCPU at 1,769 MB),
   * and the drain's own CPU is about 1.25 ms per job (the AWS SDK's claim and completion, mostly;
   * docs/design.md §7), so for short jobs it caps a worker near 230 jobs/s at 512 MB and 800 at
   * 1,769 MB. The compute per job costs about the same either way; raise it for queues of many
   * short jobs (with `workerConcurrency`).
   * @default 512
   */
  readonly workerMemorySize?: number;
  /** @default 256 */
  readonly enqueueMemorySize?: number;
  /** Retries of a failed scheduled invoke before it goes to the dead-letter queue. @default 2 */
  readonly scheduleRetryAttempts?: number;
  /** A scheduled invoke older than this is dropped to the dead-letter queue. @default Duration.minutes(5) */
  readonly scheduleMaxEventAge?: Duration;
  /** Alarm when a queue's oldest due job has waited longer than this. @default Duration.minutes(15) */
  readonly oldestDueJobAlarmAge?: Duration;
  /** Actions (e.g. an SNS topic) for every alarm. @default none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * The lock file of the project to bundle in.
   * @default the nearest lock file above `handlersEntry` (else above the working directory)
   */
  readonly depsLockFilePath?: string;
  /** Extra esbuild settings for the worker (e.g. `nodeModules` for native modules). @default none */
  readonly workerBundling?: BundlingOptions;
}

/** The alarms of a {@link JobTable}. */
export interface JobTableAlarms {
  /** Per queue: jobs failed for good (dead letters). */
  readonly deadLetters: Readonly<Record<string, cloudwatch.Alarm>>;
  /** Per queue: the oldest due job waited too long (or no worker published the metric). */
  readonly oldestDueJob: Readonly<Record<string, cloudwatch.Alarm>>;
  /** Scheduled invokes of the worker failed after their retries. */
  readonly scheduleDeadLetters: cloudwatch.Alarm;
}

/**
 * A complete jobtable deployment: add it to a stack, hand it your handlers, grant producers.
 *
 * @example
 * const jobs = new JobTable(this, 'Jobs', { handlersEntry: 'src/jobs.ts', queues: ['default', 'mail'] });
 * jobs.grantEnqueue(apiFunction); // apiFunction may invoke the enqueue function (LambdaJobClient)
 */
export class JobTable extends Construct {
  /** The jobs table (with its status/run_at index, TTL and stream). */
  readonly table: dynamodb.Table;
  /** ARN of the status/run_at index. */
  readonly indexArn: string;
  /** The enqueue function (`{ type, payload, ... }` -> `{ id }`). */
  readonly enqueueFunction: NodejsFunction;
  /** The worker function (your handlers). */
  readonly workerFunction: NodejsFunction;
  /** The served queues. */
  readonly queues: readonly string[];
  /** The minute tick of each served queue (EventBridge Scheduler). */
  readonly schedules: Readonly<Record<string, scheduler.Schedule>>;
  /** Failed scheduled invokes of the worker (after the schedule's retries). */
  readonly scheduleDeadLetterQueue: sqs.Queue;
  /** The alarms. */
  readonly alarms: JobTableAlarms;
  /** Prompt pickup (stream trigger), delayed-job wake-ups and recurring schedules. */
  readonly scheduling: JobScheduling;
  /** The `service` dimension of the published metrics. */
  readonly serviceName: string;
  /**
   * The environment a function of yours needs to use the queue directly (`queueFromEnv()`): table,
   * shard count, served queues. Pair it with {@link grantEnqueueDirect} or {@link grantReadJobs}.
   */
  readonly queueEnvironment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: JobTableProps) {
    super(scope, id);
    const handlersPath = resolveHandlersEntry(props.handlersEntry);
    const target = bundlingTarget(handlersPath, props.depsLockFilePath);
    this.queues = parseQueueList((props.queues ?? ['default']).join(','), 'queues');
    validateSettings(props);
    const limits = props.limits !== undefined ? validateServedLimits(props.limits, this.queues) : undefined;
    this.serviceName = props.serviceName ?? Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    this.table = this.createTable(props, removalPolicy);
    this.indexArn = `${this.table.tableArn}/index/${TABLE.indexName}`;
    this.queueEnvironment = {
      [ENV.tableName]: this.table.tableName,
      [ENV.shardCount]: String(props.shardCount ?? DEFAULT_SHARD_COUNT),
      [ENV.queues]: this.queues.join(','),
      ...(limits !== undefined ? { [ENV.limits]: JSON.stringify(limits) } : {}),
    };
    const common = { ...this.queueEnvironment, [ENV.queue]: this.queues[0]!, [POWERTOOLS_ENV.serviceName]: this.serviceName };
    const fn = (fnId: string, s: Omit<JobFunctionSettings, 'logRetention' | 'removalPolicy'>) => jobFunction(this, fnId, target, { ...s, logRetention, removalPolicy });

    this.enqueueFunction = fn('Enqueue', {
      entry: packageModule('lambda/entries/enqueue'),
      description: 'jobtable enqueue: { type, payload, ...options } -> { id }',
      memorySize: props.enqueueMemorySize ?? 256,
      timeout: Duration.seconds(30),
      environment: common,
    });
    this.workerFunction = fn('Worker', {
      entry: writeWorkerEntry(target.projectRoot, handlersPath),
      description: `jobtable worker: drains queues ${this.queues.join(', ')}`,
      memorySize: props.workerMemorySize ?? 512,
      timeout: props.workerTimeout ?? Duration.minutes(15),
      reservedConcurrentExecutions: props.workerReservedConcurrency ?? 2,
      environment: { ...common, [ENV.concurrency]: String(props.workerConcurrency ?? 4) },
      ...(props.workerBundling ? { bundling: props.workerBundling } : {}),
    });
    // Least privilege, from the calls lib/store makes on each path: enqueue = putJob (PutItem) and
    // putJobs (BatchWriteItem); drain = queryDue (Query on the index) and claim/complete/fail/
    // progress (UpdateItem).
    this.grantEnqueueDirect(this.enqueueFunction);
    this.workerFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [this.indexArn] }));
    this.workerFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [this.table.tableArn] }));

    this.scheduleDeadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.scheduleDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the worker schedules; a dead-letter queue of a dead-letter queue adds nothing.',
    });
    this.schedules = this.createTicks(props);
    this.alarms = this.createAlarms(props);

    this.scheduling = new JobScheduling(this, 'Scheduling', {
      table: this.table,
      workerFunction: this.workerFunction,
      environment: common,
      functionFactory: (fnId, o) => fn(fnId, o),
    });
    // The group's generated name is stable: a group left behind would block the next deploy.
    this.scheduling.scheduleGroup.applyRemovalPolicy(removalPolicy);
  }

  /** The table, its key schema taken from the same CreateTable definition the runtime uses. */
  private createTable(props: JobTableProps, removalPolicy: RemovalPolicy): dynamodb.Table {
    const shape = tableShape();
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: shape.partitionKey,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttlAttribute,
      // Feeds the stream function (prompt pickup and wake-ups, ./scheduling.ts).
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy,
    });
    for (const gsi of shape.indexes) table.addGlobalSecondaryIndex(gsi);
    if (!(props.pointInTimeRecovery ?? true)) {
      Validations.of(table).acknowledge({ id: 'AwsSolutions-DDB3', reason: 'Point-in-time recovery turned off by the JobTable props (a disposable stage).' });
    }
    return table;
  }

  /**
   * One every-minute schedule per served queue, each sending the worker a tick that names its
   * queue: a job whose worker died mid-run, or that prompt pickup missed, is drained within a minute.
   */
  private createTicks(props: JobTableProps): Record<string, scheduler.Schedule> {
    // The schedules' role: LambdaInvoke grants it lambda:InvokeFunction on the worker and on
    // `<worker arn>:*` (its versions and aliases): a wildcard within this one function only.
    const role = new iam.Role(this, 'WorkerScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: 'jobtable worker ticks: invoke the worker, send to its dead-letter queue',
    });
    const workerLogicalId = Stack.of(this).getLogicalId(this.workerFunction.node.defaultChild as lambda.CfnFunction);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${workerLogicalId}.Arn>:*]`,
      reason: 'CDK grantInvoke adds <worker arn>:* for the versions and aliases of the worker function; the wildcard covers only that one function.',
    });
    const ticks: Record<string, scheduler.Schedule> = {};
    this.queues.forEach((queue, i) => {
      ticks[queue] = new scheduler.Schedule(this, i === 0 ? 'WorkerSchedule' : `WorkerSchedule${i}`, {
        description: `Drains due jobs of queue "${queue}" every minute`,
        schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
        target: new LambdaInvoke(this.workerFunction, {
          input: scheduler.ScheduleTargetInput.fromObject(wakeEvent(queue, 'tick')),
          retryAttempts: props.scheduleRetryAttempts ?? 2,
          maxEventAge: props.scheduleMaxEventAge ?? Duration.minutes(5),
          deadLetterQueue: this.scheduleDeadLetterQueue,
          role,
        }),
      });
    });
    return ticks;
  }

  private createAlarms(props: JobTableProps): JobTableAlarms {
    const deadLetters: Record<string, cloudwatch.Alarm> = {};
    const oldestDueJob: Record<string, cloudwatch.Alarm> = {};
    this.queues.forEach((queue, i) => {
      const suffix = i === 0 ? '' : String(i);
      deadLetters[queue] = new cloudwatch.Alarm(this, `DeadLettersAlarm${suffix}`, {
        alarmDescription: `Jobs of queue "${queue}" failed for good (used all attempts). List them with listJobs({ status: "failed" }) and redrive with retryJob.`,
        metric: this.metricJobsFailed({ queue, period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      oldestDueJob[queue] = new cloudwatch.Alarm(this, `OldestDueJobAlarm${suffix}`, {
        alarmDescription: `A due job of queue "${queue}" has waited too long: workers are behind or failing. Its minute tick publishes this, so missing data (no worker runs) also alarms.`,
        metric: this.metricOldestDueJobAge({ queue }),
        threshold: (props.oldestDueJobAlarmAge ?? Duration.minutes(15)).toMilliseconds(),
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    });
    const scheduleDeadLetters = new cloudwatch.Alarm(this, 'ScheduleDeadLettersAlarm', {
      alarmDescription: 'Scheduled invokes of the worker failed after their retries.',
      metric: this.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const all = [...Object.values(deadLetters), ...Object.values(oldestDueJob), scheduleDeadLetters];
    for (const alarm of all) for (const action of props.alarmActions ?? []) alarm.addAlarmAction(action);
    return { deadLetters, oldestDueJob, scheduleDeadLetters };
  }

  /**
   * A metric the workers publish (namespace `jobtable`, dimensions service and queue).
   * @param metricName one of `METRIC` (e.g. `JobsCompleted`)
   */
  metric(metricName: string, props: JobTableMetricOptions = {}): cloudwatch.Metric {
    const { queue, ...rest } = props;
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...rest,
      dimensionsMap: { [METRIC_DIMENSION.service]: this.serviceName, [METRIC_DIMENSION.queue]: queue ?? this.queues[0]! },
    });
  }

  /** Jobs claimed by workers (Sum over 5 minutes by default). */
  metricJobsClaimed(props?: JobTableMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.jobsClaimed, props);
  }

  /** Jobs completed (Sum over 5 minutes by default). */
  metricJobsCompleted(props?: JobTableMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.jobsCompleted, props);
  }

  /** Attempts that failed and were scheduled again (Sum over 5 minutes by default). */
  metricJobsRetried(props?: JobTableMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.jobsRetried, props);
  }

  /** Jobs failed for good: dead letters (Sum over 5 minutes by default). */
  metricJobsFailed(props?: JobTableMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.jobsFailed, props);
  }

  /** Run time of one attempt in ms (Average over 5 minutes by default). */
  metricJobDuration(props?: JobTableMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.jobDuration, { statistic: 'Average', ...props });
  }

  /** From a job's due time to its claim, in ms (p99 over 5 minutes by default). */
  metricPickupDelay(props?: JobTableMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.pickupDelay, { statistic: 'p99', ...props });
  }

  /** Age of the oldest due, unclaimed job after a drain, in ms (Maximum over 1 minute by default). */
  metricOldestDueJobAge(props?: JobTableMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.oldestDueJobAge, { statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  /** Lets `grantee` invoke the enqueue function (what `LambdaJobClient` needs). */
  grantEnqueue(grantee: iam.IGrantable): iam.Grant {
    return this.enqueueFunction.grantInvoke(grantee);
  }

  /**
   * Lets `grantee` enqueue with the library directly (`queueFromEnv().enqueue`): PutItem and
   * BatchWriteItem on the table. Give it {@link queueEnvironment} too.
   */
  grantEnqueueDirect(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'], resourceArns: [this.table.tableArn] });
  }

  /**
   * Lets `grantee` read jobs (`getJob`, `listJobs`, `stats`, a read-only dashboard): GetItem,
   * BatchGetItem, Query and Scan on the table and its index, and DescribeTable.
   */
  grantReadJobs(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DescribeTable'],
      resourceArns: [this.table.tableArn, this.indexArn],
    });
  }

  /**
   * Lets `grantee` operate jobs (`cancelJob`, `retryJob`, the dashboard's bulk actions): read
   * as {@link grantReadJobs}, plus UpdateItem on the table.
   */
  grantManageJobs(grantee: iam.IGrantable): iam.Grant {
    this.grantReadJobs(grantee);
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:UpdateItem'], resourceArns: [this.table.tableArn] });
  }

  /** Lets `grantee` manage recurring schedules (see `JobScheduling.grantManageSchedules`). */
  grantManageSchedules(grantee: iam.IGrantable): iam.Grant {
    return this.scheduling.grantManageSchedules(grantee);
  }
}

/** Options of the `metric*()` methods. */
export interface JobTableMetricOptions extends cloudwatch.MetricOptions {
  /** The queue. @default the first served queue */
  readonly queue?: string;
}

/**
 * Checks the numbers the functions read from their environment at start-up, so that a bad value
 * fails the synth instead of every invocation.
 * @throws ValidationError naming the prop and its limit
 */
function validateSettings(props: JobTableProps): void {
  if (props.shardCount !== undefined) validateShardCount(props.shardCount, 'shardCount');
  if (props.workerConcurrency !== undefined) validateInteger(props.workerConcurrency, 'workerConcurrency', 1, 1_000);
  if (props.workerReservedConcurrency !== undefined) validateInteger(props.workerReservedConcurrency, 'workerReservedConcurrency', 1, 10_000);
  const timeoutS = props.workerTimeout?.toSeconds();
  if (timeoutS !== undefined && (timeoutS < 30 || timeoutS > 900)) {
    throw new ValidationError('workerTimeout', 'from 30 seconds to 15 minutes (the Lambda maximum)', `got ${timeoutS} s`);
  }
}

/** Checks `limits` and that each names a served queue (limits of a queue no worker drains would do nothing). */
function validateServedLimits(limits: unknown, queues: readonly string[]): LimitsByQueue {
  const valid = validateLimits(limits, 'limits');
  for (const queue of Object.keys(valid)) {
    if (!queues.includes(queue)) throw new LimitsError(`limits.${queue}`, `a served queue: ${queues.join(', ')}`, `queue "${queue}" is not served by this JobTable`);
  }
  return valid;
}

/** The table's CDK key schema, from the same CreateTable definition the runtime uses. */
function tableShape() {
  const def = jobsTableDefinition('unused');
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
