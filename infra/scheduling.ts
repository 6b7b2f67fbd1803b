/**
 * `JobScheduling`: the CDK resources of prompt pickup, delayed-job wake-ups and recurring jobs.
 *
 * - The stream function, triggered by the jobs table's DynamoDB stream (NEW_IMAGE), filtered to
 *   records that leave a job pending: it kicks the worker (async invoke) for due jobs and creates
 *   one-time `w-*` wake-up schedules for delayed ones.
 * - A schedule group per deployment holding wake-ups (`w-*`) and recurring schedules (`r-*`).
 * - The schedule-target function, which recurring schedules invoke to enqueue their job.
 * - The role EventBridge Scheduler assumes to invoke the worker and the schedule target.
 * The every-minute ticks (one per served queue) stay in the `JobTable` construct.
 */
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { ENV } from '../lib/env.ts';
import { streamFilterPattern } from '../lib/scheduler/stream-filter.ts';
import { RECURRING_PREFIX } from '../lib/scheduler/wakeups.ts';
import { packageModule } from './bundling.ts';

/** How the construct gets a bundled function (the `JobTable` construct passes its own builder). */
export type FunctionFactory = (
  id: string,
  options: {
    /** Absolute path of the entry file. */
    readonly entry: string;
    readonly description: string;
    readonly environment: Record<string, string>;
    readonly timeout: Duration;
    readonly memorySize: number;
  },
) => lambda.Function;

/** Properties of {@link JobScheduling}. */
export interface JobSchedulingProps {
  /** The jobs table; it must have a stream with NEW_IMAGE (or NEW_AND_OLD_IMAGES). */
  readonly table: dynamodb.ITable;
  /** The worker function: target of kicks and wake-ups. */
  readonly workerFunction: lambda.IFunction;
  /** Builds the stream and schedule-target functions. */
  readonly functionFactory: FunctionFactory;
  /** Environment shared with the other functions (table name, shard count). */
  readonly environment: Record<string, string>;
  /** Stream records per invocation (a batch makes one kick per queue). @default 100 */
  readonly streamBatchSize?: number;
  /** Retries of a failed stream batch before it is skipped (the minute tick still catches its jobs). @default 3 */
  readonly streamRetryAttempts?: number;
}

/**
 * Prompt pickup, wake-ups and recurring jobs for one jobtable deployment.
 * @example
 * const scheduling = new JobScheduling(this, 'Scheduling', { table, workerFunction, functionFactory, environment });
 * scheduling.grantManageSchedules(apiFunction); // apiFunction may call queue.schedule()
 * apiFunction.addEnvironment(...) // for each entry of scheduling.schedulerEnvironment
 */
export class JobScheduling extends Construct {
  /** Holds the wake-ups (`w-*`) and the recurring schedules (`r-*`). */
  readonly scheduleGroup: scheduler.ScheduleGroup;
  /** The role EventBridge Scheduler assumes to invoke the worker and the schedule target. */
  readonly schedulerRole: iam.Role;
  /** The DynamoDB stream consumer (prompt pickup). */
  readonly streamFunction: lambda.Function;
  /** The target of recurring schedules (enqueues their job). */
  readonly scheduleTargetFunction: lambda.Function;
  /** The stream trigger, with its filter criteria. */
  readonly eventSourceMapping: lambda.EventSourceMapping;
  /** The environment a function needs to build an `EventBridgeScheduler` (`schedulerFromEnv()`). */
  readonly schedulerEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: JobSchedulingProps) {
    super(scope, id);
    const { table, workerFunction } = props;
    if (!table.tableStreamArn) throw new Error('JobScheduling needs a table with a DynamoDB stream (StreamViewType.NEW_IMAGE)');
    const stack = Stack.of(this);

    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'Group');

    this.scheduleTargetFunction = props.functionFactory('ScheduleTarget', {
      entry: packageModule('lambda/entries/schedule-target'),
      description: 'jobtable schedule target: enqueues the job of a recurring schedule',
      environment: props.environment,
      timeout: Duration.seconds(30),
      memorySize: 256,
    });
    // fireRecurring = putJob: one conditional PutItem.
    this.scheduleTargetFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [table.tableArn] }));

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'jobtable schedules: wake the worker, enqueue recurring jobs',
    });
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [workerFunction.functionArn, this.scheduleTargetFunction.functionArn] }),
    );

    this.schedulerEnvironment = {
      [ENV.scheduleGroup]: this.scheduleGroup.scheduleGroupName,
      [ENV.schedulerRoleArn]: this.schedulerRole.roleArn,
      [ENV.recurringTargetArn]: this.scheduleTargetFunction.functionArn,
      [ENV.wakeTargetArn]: workerFunction.functionArn,
    };

    this.streamFunction = props.functionFactory('Stream', {
      entry: packageModule('lambda/entries/stream'),
      description: 'jobtable stream: prompt pickup (kicks) and wake-ups of delayed jobs',
      environment: { ...props.environment, ...this.schedulerEnvironment },
      timeout: Duration.seconds(30),
      memorySize: 256,
    });
    workerFunction.grantInvoke(this.streamFunction);
    this.streamFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['scheduler:CreateSchedule'], resources: [this.scheduleArn('w-*')] }));
    this.streamFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: [this.schedulerRole.roleArn] }));
    table.grantStreamRead(this.streamFunction);

    this.eventSourceMapping = new lambda.EventSourceMapping(this, 'StreamTrigger', {
      target: this.streamFunction,
      eventSourceArn: table.tableStreamArn,
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: props.streamBatchSize ?? 100,
      maxBatchingWindow: Duration.seconds(0),
      retryAttempts: props.streamRetryAttempts ?? 3,
      bisectBatchOnError: true,
      maxRecordAge: Duration.minutes(5),
      filters: [lambda.FilterCriteria.filter(streamFilterPattern())],
    });

    // The stream function's role has exactly three wildcard resources, each bounded.
    const wildcards: [string, string][] = [
      [this.nagArn('w-*'), 'CreateSchedule on the w- (wake-up) schedules of this deployment group only; their names carry queue and minute.'],
      ['*', 'dynamodb:ListStreams (added by grantStreamRead) has no resource-level permissions.'],
    ];
    const workerCfn = workerFunction.node.defaultChild as lambda.CfnFunction | undefined;
    if (workerCfn) wildcards.push([`<${stack.getLogicalId(workerCfn)}.Arn>:*`, 'grantInvoke adds <worker arn>:* for the versions and aliases of that one function.']);
    for (const [resource, reason] of wildcards) {
      Validations.of(this.streamFunction.role ?? this.streamFunction).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`, reason });
    }
  }

  /** How cdk-nag prints {@link scheduleArn} in its finding ids. */
  nagArn(pattern: string): string {
    const stack = Stack.of(this);
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    return `arn:<AWS::Partition>:scheduler:${region}:${account}:schedule/${this.scheduleGroup.scheduleGroupName}/${pattern}`;
  }

  /** ARN of schedules in this group whose names match `pattern`. */
  scheduleArn(pattern: string): string {
    return Stack.of(this).formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${this.scheduleGroup.scheduleGroupName}/${pattern}` });
  }

  /**
   * Lets `grantee` manage recurring schedules (`queue.schedule`, `unschedule`, `listSchedules`):
   * create, update, get and delete `r-*` schedules of this group, list the group, and pass the
   * scheduler role. Give the function {@link schedulerEnvironment} too. Its role then holds two
   * wildcards cdk-nag reports (AwsSolutions-IAM5): `r-*` of this group, and `*` for ListSchedules,
   * which has no resource-level permissions; acknowledge them on that role ({@link nagArn} gives
   * the first as cdk-nag prints it).
   */
  grantManageSchedules(grantee: iam.IGrantable): iam.Grant {
    const manage = iam.Grant.addToPrincipal({
      grantee,
      actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:GetSchedule', 'scheduler:DeleteSchedule'],
      resourceArns: [this.scheduleArn(`${RECURRING_PREFIX}*`)],
    });
    iam.Grant.addToPrincipal({ grantee, actions: ['scheduler:ListSchedules'], resourceArns: ['*'] });
    this.schedulerRole.grantPassRole(grantee.grantPrincipal);
    return manage;
  }
}
