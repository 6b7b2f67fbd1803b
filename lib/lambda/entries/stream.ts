/** Entry of the `JobTable` construct's stream function (bundled from the package). */
import { createStreamHandler } from '../stream.ts';

/** The Lambda handler. */
export const handler = createStreamHandler();
