export { GossipClient } from "./client.js";
export type { ClientOptions, EntryEvent, RecallQuery, SubscribeOptions, Subscription, WriteResult } from "./client.js";
export { ChainedMemoryStore, LocalMemoryStore } from "./memory-store.js";
export type { MemoryStore, StoredMemory } from "./memory-store.js";
export * from "./types.js";
