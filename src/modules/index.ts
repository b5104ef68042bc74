export { moduleRef } from './contract.js';
export type {
  ConfigSections,
  Contribution,
  EventBus,
  KernelFragment,
  Migration,
  Module,
  RunningModule,
  StopReason,
  ModuleContext,
  ModuleLog,
  ModuleRef,
  Scheduler,
  StoreHandle,
} from './contract.js';
