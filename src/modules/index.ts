export { moduleRef } from './contract.js';
export type {
  ConfigSections,
  Contribution,
  Module,
  RunningModule,
  StopReason,
  ModuleContext,
  ModuleLog,
  ModuleRef,
  StoreHandle,
} from './contract.js';
