export type {
  ConfigSections,
  Contribution,
  EventBus,
  KernelFragment,
  Migration,
  Module,
  ModuleContext,
  ModuleLog,
  Scheduler,
  StoreHandle,
} from './contract.js';
