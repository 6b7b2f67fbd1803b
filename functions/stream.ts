/** The stream Lambda (prompt pickup): the package's handler, as a user writes it. */
import { createStreamHandler } from 'jobtable/lambda';

export const handler = createStreamHandler();
