/** The enqueue Lambda of this repository's stage app: the package's handler, as a user writes it. */
import { createEnqueueHandler } from 'jobtable/lambda';

export const handler = createEnqueueHandler();
