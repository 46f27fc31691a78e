// Generated from docs/openapi.yaml by clients/typescript/generate.py. Do not edit:
// change the document, then run `python3 clients/typescript/generate.py`.

/** an author (a node's identity), 64 lowercase hex digits */
export type AuthorID = string;

/** an entry id (BLAKE2b-256 of its signed header), 64 lowercase hex digits */
export type EntryID = string;

export type ErrorCode = "bad_request" | "missing_field" | "invalid_field" | "malformed_json" | "not_found" | "method_not_allowed" | "unauthorized" | "host_not_allowed" | "origin_not_allowed" | "unsupported_media_type" | "body_too_large" | "payload_too_large" | "storage_unavailable" | "too_many_subscribers" | "identity_forked" | "http_error" | "internal_error";

export type Error = {
  error: {
    code: ErrorCode;
    message: string;
  };
};

export type Written = {
  id: EntryID;
  author: AuthorID;
  seq: number;
  key?: string;
  pending: false;
};

export type Pending = {
  author: AuthorID;
  pending: true;
  /** its place in the outbox, signed in this order */
  outbox_id: number;
  key?: string;
};

export type MemoryInput = {
  category: string;
  content: string;
  /** any characters (percent-encode it in paths); generated when absent or empty */
  key?: string | null;
  tags?: Array<string> | null;
  project?: string | null;
  meta?: Record<string, unknown> | null;
};

export type Memory = {
  key: string;
  category: string;
  content: string;
  tags: Array<string>;
  project: string | null;
  meta: Record<string, unknown> | null;
  author: AuthorID;
  host: string;
  recorded_at: string;
  /** entry id; null while pending */
  id: string | null;
  /** null while pending */
  seq: number | null;
  trusted: boolean;
  /** written here during the start-up check and not signed yet */
  pending: boolean;
};

export type MemoryList = {
  memories: Array<Memory>;
};

export type BreakerState = "open" | "half_open" | "closed";

export type BreakerInput = {
  /** no "/"; provider/model is the entry key, at most 256 bytes of UTF-8 */
  provider: string;
  model: string;
  state: BreakerState;
  reason?: string | null;
  /** required when open */
  resets_at?: string | null;
};

export type Breaker = {
  provider: string;
  model: string;
  state: BreakerState;
  reason: string | null;
  resets_at: string | null;
  recorded_at: string;
  host: string;
  author: AuthorID;
  id: EntryID;
  trusted: boolean;
};

export type BreakerList = {
  breakers: Array<Breaker>;
};

export type BenchmarkInput = {
  provider: string;
  model: string;
  metric: string;
  value: number;
  recorded_at?: string | null;
};

export type Benchmark = {
  provider: string;
  model: string;
  metric: string;
  count: number;
  last: number;
  mean: number;
  /** weight 2^(-age / 1 h) */
  weighted_mean: number;
  hosts: Array<string>;
  newest_recorded_at: string;
  /** every author that contributed */
  authors: Array<AuthorID>;
  newest_id: EntryID;
  newest_author: AuthorID;
  /** every contributing author reads as trusted */
  trusted: boolean;
};

export type BenchmarkList = {
  benchmarks: Array<Benchmark>;
};

/** a raw entry with every field */
export type Entry = {
  id: EntryID;
  author: AuthorID;
  seq: number;
  prev: string;
  hlc: string;
  recorded_at: string;
  kind: string;
  key: string;
  payload_hash: string;
  signature: string;
  /** the payload, parsed when it is JSON */
  payload: unknown;
  /** the payload's host field, if any */
  host: unknown | null;
  trusted: boolean;
  /** encoded bytes: signed header and payload, as stored and sent */
  size: number;
};

export type EntryList = {
  entries: Array<Entry>;
};

export type Status = {
  identity: {
    author: AuthorID;
    /** the forked identity this node moved on from, if any */
    successor_of: string | null;
    announced_at?: string;
    fork_point?: number | null;
    advice?: string;
  };
  author: AuthorID;
  entries: number;
  authors: number;
  digest: string;
  peers: {
    alive: number;
    suspect: number;
    dead: number;
  };
  quarantined: number;
  held: number;
  /** what the database holds and what compaction did since start (null when the database cannot be read); see docs/protocol.md, Retention */
  retention?: {
    stored_entries?: number;
    stored_bytes?: number;
    live_entries?: number;
    live_bytes?: number;
    /** dead by an applied checkpoint, not yet deleted */
    dead_entries?: number;
    dead_bytes?: number;
    compacted_entries?: number;
    compacted_bytes?: number;
    authors_checkpointed?: number;
    checkpoints_pending?: number;
    database_bytes?: number;
    database_free_bytes?: number;
  } | null;
  address: string;
  host: string;
  version: string;
  ready: boolean;
  /** why not ready (empty when ready) */
  not_ready: Array<string>;
  /** pending during the start-up check */
  writes: "signed" | "pending";
};

export type Peer = {
  author: AuthorID;
  address: string;
  state: "alive" | "suspect" | "dead" | "left";
  last_seen: string | null;
  incarnation: number;
};

export type PeerList = {
  peers: Array<Peer>;
};

/** Every operation of the API by its operationId. */
export interface Operations {
  writeMemory: { method: "POST"; path: "/v1/memories" };
  recallMemories: { method: "GET"; path: "/v1/memories" };
  getMemory: { method: "GET"; path: "/v1/memories/{author}/{key}" };
  retractMemory: { method: "DELETE"; path: "/v1/memories/{key}" };
  recordBreaker: { method: "POST"; path: "/v1/breakers" };
  listBreakers: { method: "GET"; path: "/v1/breakers" };
  recordBenchmark: { method: "POST"; path: "/v1/benchmarks" };
  listBenchmarks: { method: "GET"; path: "/v1/benchmarks" };
  streamEvents: { method: "GET"; path: "/v1/events" };
  getStatus: { method: "GET"; path: "/v1/status" };
  listPeers: { method: "GET"; path: "/v1/peers" };
  readLog: { method: "GET"; path: "/v1/log" };
  getMetrics: { method: "GET"; path: "/metrics" };
  getHealth: { method: "GET"; path: "/healthz" };
  getReadiness: { method: "GET"; path: "/readyz" };
}
