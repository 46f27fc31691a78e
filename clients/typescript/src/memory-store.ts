// The provider chain ADR-012 describes for sf: remote (the gossip node, shared by every host)
// first, local-only second. Memory is best effort: a write always lands locally and is offered
// to the node without waiting on it; a recall asks the node within its short timeout and falls
// back to the local store when the node has nothing to say.
import type { GossipClient } from "./client.js";

/** What sf's memory provider needs of a store. */
export interface MemoryStore {
  recall(query: string, limit?: number): Promise<StoredMemory[]>;
  remember(memory: { category: string; content: string; key?: string; tags?: string[] }): Promise<void>;
}

export interface StoredMemory {
  key: string;
  category: string;
  content: string;
  tags: string[];
  /** Where it came from: "remote" (the gossip node, with its provenance) or "local". */
  source: "remote" | "local";
  host?: string;
  author?: string;
  trusted?: boolean;
}

/** A process-local store: what sf falls back to when no node answers. */
export class LocalMemoryStore implements MemoryStore {
  private readonly items = new Map<string, StoredMemory>();
  private counter = 0;

  async recall(query: string, limit = 20): Promise<StoredMemory[]> {
    const words = query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    const scored = [...this.items.values()]
      .map((m) => ({ m, score: words.filter((w) => m.content.toLowerCase().includes(w) || m.category.toLowerCase() === w).length }))
      .filter((x) => words.length === 0 || x.score > 0)
      .sort((a, b) => b.score - a.score);
    return scored.slice(0, limit).map((x) => x.m);
  }

  async remember(memory: { category: string; content: string; key?: string; tags?: string[] }): Promise<void> {
    const key = memory.key ?? `local-${++this.counter}`;
    this.items.set(key, { key, category: memory.category, content: memory.content, tags: memory.tags ?? [], source: "local" });
  }
}

/** Remote first, local second: the chain ADR-012 describes. */
export class ChainedMemoryStore implements MemoryStore {
  constructor(
    private readonly remote: GossipClient,
    private readonly local: MemoryStore = new LocalMemoryStore(),
  ) {}

  async recall(query: string, limit = 20): Promise<StoredMemory[]> {
    const remote = await this.remote.recall({ q: query, limit });
    if (remote.length > 0) {
      return remote.map((m) => ({
        key: m.key, category: m.category, content: m.content, tags: m.tags, source: "remote" as const,
        host: m.host, author: m.author, trusted: m.trusted,
      }));
    }
    return this.local.recall(query, limit);
  }

  async remember(memory: { category: string; content: string; key?: string; tags?: string[] }): Promise<void> {
    await this.local.remember(memory);
    // Offered to the node, never awaited for long: remember() returns undefined when it is away.
    void this.remote.remember({ category: memory.category, content: memory.content, key: memory.key ?? null, tags: memory.tags ?? null });
  }
}
