export { ManualClock, systemClock, type Clock } from './clock.js';
export type { Job, JobOptions, RunResult, Scheduler, SchedulerLog, SchedulerOptions, Task } from './scheduler.js';
export { createScheduler } from './run-scheduler.js';
export { serialQueue } from './serial.js';
