export type { GatehouseEvents } from './map.js';
export {
  DEFAULT_QUEUE_CAPACITY,
  type BusEvent,
  type EventBus,
  type EventBusOptions,
  type EventName,
  type EventPublisher,
  type EventSource,
  type QueuedOptions,
  type QueuedSubscription,
  type Unsubscribe,
} from './bus.js';
export { createEventBus } from './in-process-bus.js';
