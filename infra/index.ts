/**
 * `jobtable/cdk`: the CDK constructs. `JobTable` is a complete deployment; `JobScheduling` is its
 * prompt-pickup and scheduling part, for those who assemble their own.
 * @example
 * import { JobTable } from 'jobtable/cdk';
 * const jobs = new JobTable(this, 'Jobs', { handlersEntry: 'src/jobs.ts' });
 */
export { JobTable } from './job-table.ts';
export type { JobTableAlarms, JobTableMetricOptions, JobTableProps } from './job-table.ts';
export { JobScheduling } from './scheduling.ts';
export type { FunctionFactory, JobSchedulingProps } from './scheduling.ts';
export { METRIC, METRIC_DIMENSION, METRICS_NAMESPACE } from '../lib/observability/names.ts';
