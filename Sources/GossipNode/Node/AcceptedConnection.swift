import GossipCore
import NIOCore
import Synchronization

/// A TCP connection the listener accepted, on its way to ``Node/accept(_:)``.
///
/// NIO requires every `NIOAsyncChannel` to be closed through `executeThenClose` before it is
/// freed. Connections accepted just before the node stops sit in the listener's buffer and are
/// never served; this box closes such a connection when it is freed, so stopping a node with
/// connections in flight is an orderly close instead of a trap.
final class AcceptedConnection: Sendable {
    private let pending: Mutex<NIOAsyncChannel<ByteBuffer, ByteBuffer>?>

    init(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) { pending = Mutex(connection) }

    /// The connection, once; whoever takes it must serve it with `executeThenClose`.
    func take() -> NIOAsyncChannel<ByteBuffer, ByteBuffer>? {
        pending.withLock { c in
            defer { c = nil }
            return c
        }
    }

    deinit {
        if let unserved = take() { Task { try? await unserved.executeThenClose { _, _ in } } }
    }
}
