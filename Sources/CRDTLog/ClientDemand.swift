import Synchronization

/// Counts a client's requests to the store in progress (the local API's writes, and reads that
/// go through the store rather than the ``ReadConnection``), so that a long transaction from a
/// peer's batch can end early and let them in.
///
/// A catch-up commits a peer's entries in transactions of up to a frame's batch (about 2,300
/// entries, tens of ms). A client's write or recall that arrives meanwhile would wait for the
/// whole transaction. Instead the API marks each such request from arrival to answer
/// (``begin()``/``end()``); ``LogStore/ingest(checked:now:yieldingToClients:)`` checks
/// ``isWaiting`` every ``LogStore/yieldCheckEntries`` entries, and when a request is in
/// progress it commits what it placed and hands the rest back, so the request runs before the
/// rest of the batch. With no client request, batches commit whole (the fastest catch-up).
public final class ClientDemand: Sendable {
    private let inProgress = Atomic<Int>(0)

    public init() {}

    /// A client request began (call ``end()`` when it is answered).
    public func begin() { inProgress.add(1, ordering: .relaxed) }

    /// A client request was answered.
    public func end() { inProgress.subtract(1, ordering: .relaxed) }

    /// Whether any client request is in progress.
    public var isWaiting: Bool { inProgress.load(ordering: .relaxed) > 0 }
}
