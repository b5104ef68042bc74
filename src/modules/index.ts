export { moduleRef } from './contract.js';
export type {
  ConfigSections,
  Contribution,
  KernelFragment,
  Module,
  RunningModule,
  StopReason,
  ModuleContext,
  ModuleLog,
  ModuleRef,
  StoreHandle,
} from './contract.js';
