/** Powertools Logger and Metrics configured for a jobtable worker. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_DIMENSION, METRICS_NAMESPACE, POWERTOOLS_ENV } from './names.ts';

/** Options of {@link createObservability}. */
export interface ObservabilityOptions {
  /**
   * The service name (log `service` key and metric dimension).
   * @default the `POWERTOOLS_SERVICE_NAME` environment variable, else `jobtable`
   */
  readonly serviceName?: string;
  /** The queue, added as a metric dimension and a log key. @default "default" */
  readonly queue?: string;
  /** @default METRICS_NAMESPACE ("jobtable") */
  readonly namespace?: string;
}

/**
 * A Powertools `Logger` (JSON lines) and `Metrics` (EMF, namespace `jobtable`, dimensions
 * `service` and `queue`) for a worker or the enqueue function.
 *
 * @example
 * const { logger, metrics } = createObservability({ queue: 'default' });
 */
export function createObservability(options: ObservabilityOptions = {}): { logger: Logger; metrics: Metrics } {
  const queue = options.queue ?? 'default';
  const serviceName = options.serviceName ?? (process.env[POWERTOOLS_ENV.serviceName] || 'jobtable');
  const logger = new Logger({ serviceName, persistentKeys: { queue } });
  const metrics = new Metrics({
    namespace: options.namespace ?? METRICS_NAMESPACE,
    serviceName,
    defaultDimensions: { [METRIC_DIMENSION.queue]: queue },
  });
  return { logger, metrics };
}
