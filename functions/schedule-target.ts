/** The target of recurring schedules: the package's handler, as a user writes it. */
import { createScheduleTargetHandler } from 'jobtable/lambda';

export const handler = createScheduleTargetHandler();
