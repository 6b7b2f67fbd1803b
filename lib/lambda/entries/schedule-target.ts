/** Entry of the `JobTable` construct's schedule-target function (bundled from the package). */
import { createScheduleTargetHandler } from '../schedule-target.ts';

/** The Lambda handler. */
export const handler = createScheduleTargetHandler();
