/** Entry of the `JobTable` construct's enqueue function (bundled from the package). */
import { createEnqueueHandler } from '../enqueue.ts';

/** The Lambda handler. */
export const handler = createEnqueueHandler();
