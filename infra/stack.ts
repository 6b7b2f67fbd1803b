/** The stack of one stage, and the app with cdk-nag checks. */
import { App, CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import type { StageConfig } from './config.ts';
import { JobQueue } from './job-queue.ts';

/** Properties of {@link JobTableStack}. */
export interface JobTableStackProps extends StackProps {
  /** The stage's configuration (see `STAGES` in `./config.ts`). */
  readonly config: StageConfig;
}

/** One stage of jobtable: stack `jobtable-<stage>`. */
export class JobTableStack extends Stack {
  /** The queue's resources. */
  readonly jobs: JobQueue;

  constructor(scope: Construct, id: string, props: JobTableStackProps) {
    super(scope, id, { stackName: `jobtable-${props.config.stage}`, ...props });
    const c = props.config;
    this.jobs = new JobQueue(this, 'Jobs', {
      stage: c.stage,
      removalPolicy: c.removalPolicy,
      pointInTimeRecovery: c.pointInTimeRecovery,
      deletionProtection: c.deletionProtection,
      logRetention: c.logRetention,
      workerReservedConcurrency: c.workerReservedConcurrency,
      workerConcurrency: c.workerConcurrency,
      oldestDueJobAlarmAge: c.oldestDueJobAlarmAge,
    });
    acknowledgeNagFindings(this, c);
    new CfnOutput(this, 'TableName', { value: this.jobs.table.tableName, description: 'The jobs table' });
    new CfnOutput(this, 'EnqueueFunctionName', { value: this.jobs.enqueueFunction.functionName, description: 'Pass to LambdaJobClient' });
    new CfnOutput(this, 'WorkerFunctionName', { value: this.jobs.workerFunction.functionName });
  }
}

/** cdk-nag findings that are deliberate, each with its reason. */
function acknowledgeNagFindings(stack: JobTableStack, c: StageConfig): void {
  const v = Validations.of(stack);
  if (!c.pointInTimeRecovery) {
    v.acknowledge({ id: 'AwsSolutions-DDB3', reason: `Stage ${c.stage} is disposable (RemovalPolicy.DESTROY); only prod keeps data with point-in-time recovery.` });
  }
  v.acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself the dead-letter queue of the worker schedule; a dead-letter queue of a dead-letter queue adds nothing.',
  });
}

/**
 * An app with the stack of `config`'s stage and the cdk-nag AwsSolutions checks, which run on
 * every synth: an unacknowledged finding fails the synth.
 * @example
 * const { app } = buildApp(stageConfig('dev'), new App({ outdir: 'cdk.out' }));
 * app.synth();
 */
export function buildApp(config: StageConfig, app: App = new App()): { app: App; stack: JobTableStack } {
  const stack = new JobTableStack(app, `JobTable-${config.stage}`, { config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
