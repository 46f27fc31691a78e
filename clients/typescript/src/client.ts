// A dependency-free client of gossip-node's local API for Node >= 18 (global fetch,
// AbortController, web streams). Best effort, as ADR-012 asks of shared memory: no call ever
// throws; when the node is down, slow, paused or answers an error, reads return [] (or
// undefined) and writes return undefined, each within its timeout.
import type {
  Benchmark,
  BenchmarkInput,
  Breaker,
  BreakerInput,
  Entry,
  Memory,
  MemoryInput,
  Pending,
  Status,
  Written,
} from "./types.js";

export * from "./types.js";

/** What a write answers: signed now (201), or durable and signed later (202, `pending`). */
export type WriteResult = Written | Pending;

export interface ClientOptions {
  /** The node's API (default http://127.0.0.1:7421). */
  baseUrl?: string;
  /** Bearer token, when the API is bound beyond loopback. */
  token?: string;
  /** Timeout of reads such as recall, in ms (default 150: sf must never wait on memory). */
  readTimeoutMs?: number;
  /** Timeout of writes, in ms (default 500; the node acknowledges once the write is on disk). */
  writeTimeoutMs?: number;
  /** Told about each failure the client swallowed (for logs and metrics); never required. */
  onError?: (operation: string, error: unknown) => void;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
}

export interface RecallQuery {
  /** Free text, ranked by BM25. */
  q?: string;
  category?: string;
  tag?: string;
  author?: string;
  project?: string;
  /** Only memories from trusted authors. */
  trustedOnly?: boolean;
  /** RFC 3339: only memories recorded at or after this time. */
  since?: string;
  /** 1-1000 (default 20). */
  limit?: number;
}

/** One event of the stream: the entry, and the cursor to resume after it. */
export interface EntryEvent {
  kind: string;
  cursor: string;
  entry: Entry;
}

export interface Subscription {
  /** Stops the stream and its reconnects. */
  close(): void;
  /** The cursor of the last event received (sent as Last-Event-ID on reconnect). */
  readonly lastEventId: string | undefined;
}

export interface SubscribeOptions {
  /** memory, breaker, benchmark (default all). */
  kinds?: Array<"memory" | "breaker" | "benchmark">;
  /** Resume after this cursor (e.g. one saved from an earlier run). */
  lastEventId?: string;
  /** First reconnect delay in ms (default 500), doubling to at most 10 s. */
  reconnectDelayMs?: number;
}

export class GossipClient {
  readonly baseUrl: string;
  private readonly token?: string;
  private readonly readTimeoutMs: number;
  private readonly writeTimeoutMs: number;
  private readonly onError?: (operation: string, error: unknown) => void;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "http://127.0.0.1:7421").replace(/\/+$/, "");
    this.token = options.token;
    this.readTimeoutMs = options.readTimeoutMs ?? 150;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 500;
    this.onError = options.onError;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Full-text recall; [] when the node does not answer in time. */
  async recall(query: RecallQuery = {}): Promise<Memory[]> {
    const p = new URLSearchParams();
    if (query.q) p.set("q", query.q);
    if (query.category) p.set("category", query.category);
    if (query.tag) p.set("tag", query.tag);
    if (query.author) p.set("author", query.author);
    if (query.project) p.set("project", query.project);
    if (query.trustedOnly) p.set("trusted", "only");
    if (query.since) p.set("since", query.since);
    if (query.limit !== undefined) p.set("limit", String(query.limit));
    const body = await this.call<{ memories: Memory[] }>("recall", "GET", `/v1/memories?${p}`, undefined, this.readTimeoutMs);
    return body?.memories ?? [];
  }

  /** One author's current memory with that key; undefined when none (or no answer). */
  async memory(author: string, key: string): Promise<Memory | undefined> {
    return this.call<Memory>("memory", "GET", `/v1/memories/${author}/${encodeURIComponent(key)}`, undefined, this.readTimeoutMs);
  }

  /** Writes a memory; undefined when the node does not take it in time. */
  async remember(input: MemoryInput): Promise<WriteResult | undefined> {
    return this.call<WriteResult>("remember", "POST", "/v1/memories", input, this.writeTimeoutMs);
  }

  /** Retracts this node's own memory with that key. */
  async forget(key: string): Promise<WriteResult | undefined> {
    return this.call<WriteResult>("forget", "DELETE", `/v1/memories/${encodeURIComponent(key)}`, undefined, this.writeTimeoutMs);
  }

  /** The merged breaker states; [] without an answer. */
  async breakers(filter: { provider?: string; model?: string; trustedOnly?: boolean } = {}): Promise<Breaker[]> {
    const p = new URLSearchParams();
    if (filter.provider) p.set("provider", filter.provider);
    if (filter.model) p.set("model", filter.model);
    if (filter.trustedOnly) p.set("trusted", "only");
    const body = await this.call<{ breakers: Breaker[] }>("breakers", "GET", `/v1/breakers?${p}`, undefined, this.readTimeoutMs);
    return body?.breakers ?? [];
  }

  /** Records a breaker event (an open one needs `resets_at`). */
  async recordBreaker(input: BreakerInput): Promise<WriteResult | undefined> {
    return this.call<WriteResult>("recordBreaker", "POST", "/v1/breakers", input, this.writeTimeoutMs);
  }

  /** Opens a breaker for `forMs` milliseconds. */
  async openBreaker(provider: string, model: string, forMs: number, reason?: string): Promise<WriteResult | undefined> {
    const resets_at = new Date(Date.now() + forMs).toISOString();
    return this.recordBreaker({ provider, model, state: "open", resets_at, reason: reason ?? null });
  }

  /** Benchmark aggregates with their provenance; [] without an answer. */
  async benchmarks(filter: { provider?: string; model?: string; metric?: string; maxAgeSeconds?: number; trustedOnly?: boolean } = {}): Promise<Benchmark[]> {
    const p = new URLSearchParams();
    if (filter.provider) p.set("provider", filter.provider);
    if (filter.model) p.set("model", filter.model);
    if (filter.metric) p.set("metric", filter.metric);
    if (filter.maxAgeSeconds !== undefined) p.set("max_age", String(filter.maxAgeSeconds));
    if (filter.trustedOnly) p.set("trusted", "only");
    const body = await this.call<{ benchmarks: Benchmark[] }>("benchmarks", "GET", `/v1/benchmarks?${p}`, undefined, this.readTimeoutMs);
    return body?.benchmarks ?? [];
  }

  async recordBenchmark(input: BenchmarkInput): Promise<WriteResult | undefined> {
    return this.call<WriteResult>("recordBenchmark", "POST", "/v1/benchmarks", input, this.writeTimeoutMs);
  }

  /** The node's status; undefined without an answer. */
  async status(): Promise<Status | undefined> {
    return this.call<Status>("status", "GET", "/v1/status", undefined, this.readTimeoutMs);
  }

  /**
   * Entries as they are stored on the node, for as long as the subscription is open: it
   * reconnects by itself (with backoff) and resumes after the last event it received, so
   * nothing stored meanwhile is missed. `onEvent` errors are reported, not thrown.
   */
  subscribe(onEvent: (event: EntryEvent) => void, options: SubscribeOptions = {}): Subscription {
    let lastEventId = options.lastEventId;
    let closed = false;
    let current: AbortController | undefined;
    const firstDelay = options.reconnectDelayMs ?? 500;
    const query = options.kinds?.length ? `?kinds=${options.kinds.join(",")}` : "";
    const run = async () => {
      let delay = firstDelay;
      while (!closed) {
        current = new AbortController();
        try {
          const headers: Record<string, string> = { Accept: "text/event-stream" };
          if (this.token) headers.Authorization = `Bearer ${this.token}`;
          if (lastEventId !== undefined) headers["Last-Event-ID"] = lastEventId;
          const response = await this.fetchImpl(`${this.baseUrl}/v1/events${query}`, { headers, signal: current.signal });
          if (!response.ok || !response.body) throw new Error(`events answered ${response.status}`);
          delay = firstDelay;
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let buffer = "";
          let event: { kind?: string; id?: string; data: string[] } = { data: [] };
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, { stream: true });
            let nl: number;
            while ((nl = buffer.indexOf("\n")) >= 0) {
              const line = buffer.slice(0, nl).replace(/\r$/, "");
              buffer = buffer.slice(nl + 1);
              if (line === "") {
                if (event.id !== undefined) lastEventId = event.id;
                if (event.data.length > 0 && event.id !== undefined) {
                  try {
                    onEvent({ kind: event.kind ?? "message", cursor: event.id, entry: JSON.parse(event.data.join("\n")) as Entry });
                  } catch (e) {
                    this.onError?.("subscribe", e);
                  }
                }
                event = { data: [] };
              } else if (line.startsWith(":")) {
                // a comment: keep-alive
              } else {
                const colon = line.indexOf(":");
                const field = colon < 0 ? line : line.slice(0, colon);
                const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
                if (field === "event") event.kind = text;
                else if (field === "id") event.id = text;
                else if (field === "data") event.data.push(text);
              }
            }
          }
        } catch (e) {
          if (!closed) this.onError?.("subscribe", e);
        }
        if (closed) break;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    };
    void run();
    return {
      close: () => {
        closed = true;
        current?.abort();
      },
      get lastEventId() {
        return lastEventId;
      },
    };
  }

  /** One request with a timeout; undefined on any failure (reported to onError). */
  private async call<T>(operation: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<T | undefined> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      const text = await response.text();
      if (!response.ok) {
        this.onError?.(operation, new Error(`${method} ${path} answered ${response.status}: ${text}`));
        return undefined;
      }
      return JSON.parse(text) as T;
    } catch (e) {
      this.onError?.(operation, e);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
