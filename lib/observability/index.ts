/** Observability for workers: logs and EMF metrics from worker events, and the backlog age. */
export { METRIC, METRIC_DIMENSION, METRICS_NAMESPACE, POWERTOOLS_ENV, serviceNameForStage } from './names.ts';
export { jobLogKeys, workerEventSink } from './worker-events.ts';
export type { EventLogger, EventMetrics } from './worker-events.ts';
export { oldestDueJobAgeMs } from './oldest-due.ts';
export { createObservability } from './powertools.ts';
export type { ObservabilityOptions } from './powertools.ts';
