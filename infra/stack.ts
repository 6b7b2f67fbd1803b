/** The stack of one stage of this repository's own deployment, and the app with cdk-nag checks. */
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { JobTable } from 'jobtable/cdk';
import type { StageConfig } from './config.ts';

/** Properties of {@link JobTableStack}. */
export interface JobTableStackProps extends StackProps {
  /** The stage's configuration (see `STAGES` in `./config.ts`). */
  readonly config: StageConfig;
}

/** The example handlers this repository deploys (a user passes their own module). */
export const EXAMPLE_HANDLERS_ENTRY = new URL('../functions/jobs/index.ts', import.meta.url).pathname;

/** One stage of jobtable: stack `jobtable-<stage>`, built the way a user builds theirs. */
export class JobTableStack extends Stack {
  /** The deployment. */
  readonly jobs: JobTable;

  constructor(scope: Construct, id: string, props: JobTableStackProps) {
    super(scope, id, { stackName: `jobtable-${props.config.stage}`, ...props });
    const c = props.config;
    this.jobs = new JobTable(this, 'Jobs', {
      handlersEntry: EXAMPLE_HANDLERS_ENTRY,
      queues: c.queues,
      serviceName: `jobtable-${c.stage}`,
      removalPolicy: c.removalPolicy,
      pointInTimeRecovery: c.pointInTimeRecovery,
      deletionProtection: c.deletionProtection,
      logRetention: c.logRetention,
      workerReservedConcurrency: c.workerReservedConcurrency,
      workerConcurrency: c.workerConcurrency,
      oldestDueJobAlarmAge: c.oldestDueJobAlarmAge,
    });
    new CfnOutput(this, 'TableName', { value: this.jobs.table.tableName, description: 'The jobs table' });
    new CfnOutput(this, 'EnqueueFunctionName', { value: this.jobs.enqueueFunction.functionName, description: 'Pass to LambdaJobClient' });
    new CfnOutput(this, 'WorkerFunctionName', { value: this.jobs.workerFunction.functionName });
  }
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
