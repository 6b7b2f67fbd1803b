/** Deployment stages and their typed configuration: `-c stage=<name>` picks one. */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** Everything that differs between stages. */
export interface StageConfig {
  /** The stage name; it names the stack (`jobtable-<stage>`) and the metrics' service. */
  readonly stage: string;
  /** The queues the stage serves (each gets a minute tick and alarms). */
  readonly queues: readonly string[];
  /** What happens to the table and log groups when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /** Point-in-time recovery of the jobs table. */
  readonly pointInTimeRecovery: boolean;
  /** CloudFormation may not delete the table while this is on. */
  readonly deletionProtection: boolean;
  /** Retention of the functions' logs. */
  readonly logRetention: RetentionDays;
  /** Upper bound of concurrently running worker invocations (reserved concurrency). */
  readonly workerReservedConcurrency: number;
  /** Jobs one worker invocation runs at once. */
  readonly workerConcurrency: number;
  /** Alarm when the oldest due job has waited longer than this. */
  readonly oldestDueJobAlarmAge: Duration;
}

/** The known stages. */
export const STAGES = {
  dev: {
    stage: 'dev',
    queues: ['default', 'bulk'],
    removalPolicy: RemovalPolicy.DESTROY,
    pointInTimeRecovery: false,
    deletionProtection: false,
    logRetention: RetentionDays.ONE_WEEK,
    workerReservedConcurrency: 2,
    workerConcurrency: 4,
    oldestDueJobAlarmAge: Duration.minutes(15),
  },
  prod: {
    stage: 'prod',
    queues: ['default', 'bulk'],
    removalPolicy: RemovalPolicy.RETAIN,
    pointInTimeRecovery: true,
    deletionProtection: true,
    logRetention: RetentionDays.THREE_MONTHS,
    workerReservedConcurrency: 10,
    workerConcurrency: 8,
    oldestDueJobAlarmAge: Duration.minutes(5),
  },
} as const satisfies Record<string, StageConfig>;

/** A known stage name. */
export type StageName = keyof typeof STAGES;

/**
 * The configuration of a stage given as `-c stage=<name>`.
 * @throws Error naming the known stages if `stage` is missing or unknown
 */
export function stageConfig(stage: unknown): StageConfig {
  const known = Object.keys(STAGES).join(', ');
  if (stage === undefined || stage === null || stage === '') {
    throw new Error(`Missing stage: pass -c stage=<name>, one of: ${known} (e.g. npx cdk synth -c stage=dev)`);
  }
  if (typeof stage !== 'string' || !Object.hasOwn(STAGES, stage)) {
    throw new Error(`Unknown stage "${String(stage)}": use one of: ${known}`);
  }
  return STAGES[stage as StageName];
}
