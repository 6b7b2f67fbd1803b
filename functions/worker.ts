/** The worker Lambda with the example handlers of `./jobs/`: one line of the package's factory. */
import { createWorkerHandler } from 'jobtable/lambda';
import { handlers } from './jobs/index.ts';

export const handler = createWorkerHandler(handlers);
