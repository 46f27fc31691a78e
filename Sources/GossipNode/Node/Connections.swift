import CRDTLog
import Dispatch
import GossipCore
import Logging
import NIOCore
import NIOPosix
import Wire

/// Reads a TCP connection's bytes: exact-size reads for the handshake, then chunks.
struct InboundBytes {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var buffer: [UInt8] = []

    mutating func read(exactly n: Int, isolation: isolated (any Actor)? = #isolation) async throws -> [UInt8] {
        while buffer.count < n {
            guard let chunk = try await iterator.next(isolation: isolation) else { throw SessionError.closed }
            buffer += chunk.readableBytesView
        }
        defer { buffer.removeFirst(n) }
        return Array(buffer[0..<n])
    }

    /// Whatever is buffered, else the next chunk; nil at end of stream.
    mutating func next(isolation: isolated (any Actor)? = #isolation) async throws -> [UInt8]? {
        if !buffer.isEmpty { defer { buffer = [] }; return buffer }
        return try await iterator.next(isolation: isolation).map { Array($0.readableBytesView) }
    }
}

/// Why a session ended early.
enum SessionError: Error, CustomStringConvertible {
    init(_ f: SyncSession.Failure) {
        switch f {
        case .noCommonVersion: self = .noCommonVersion
        case .vectorTooLarge: self = .vectorTooLarge
        case .closedEarly: self = .closed
        }
    }

    init(_ r: SessionRegistry.Refusal) {
        switch r {
        case .busy: self = .busy
        case .sessionLimit: self = .sessionLimit
        }
    }

    case closed
    case handshake(HandshakeError)
    case frame(FrameError)
    case malformed(WireDecodingError)
    case noCommonVersion
    case timeout
    /// A catch-up is streaming in from another peer.
    case busy
    /// The watchdog closed it (``SessionRegistry/Expiry``).
    case expired(String)
    /// Too many sessions at once (``SessionLimits/maxSessions``).
    case sessionLimit
    /// The peer's version vector has more authors than ``SessionLimits/maxVersionVectorAuthors``.
    case vectorTooLarge
    /// Incomplete frames of all sessions would exceed ``SessionLimits/maxBufferedBytes``.
    case bufferLimit

    var description: String {
        switch self {
        case .closed: "connection closed"
        case .handshake(let e): "handshake: \(e)"
        case .frame(let e): "frames: \(e)"
        case .malformed(let e): "message: \(e)"
        case .noCommonVersion: "no common protocol version"
        case .timeout: "timed out"
        case .busy: "busy catching up from another peer"
        case .expired(let why): "closed by its watchdog (\(why))"
        case .sessionLimit: "too many sessions at once"
        case .vectorTooLarge: "version vector over the author limit"
        case .bufferLimit: "session buffers full"
        }
    }

    var label: String {
        switch self {
        case .closed: "closed"
        case .handshake(let e): e == .networkKeyMismatch ? "network_key_mismatch" : "handshake_failed"
        case .frame(let e): e.label
        case .malformed: "malformed_message"
        case .noCommonVersion: "no_common_version"
        case .timeout: "timeout"
        case .busy: "busy"
        case .expired(let why): why
        case .sessionLimit: "session_limit"
        case .vectorTooLarge: "vector_too_large"
        case .bufferLimit: "buffer_limit"
        }
    }
}

extension Node {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Opens a sync session with a known member (the replication core asked for it), unless
    /// one runs already, the registry refuses, or a dial to that address is under way.
    func startSession(with peer: Bytes32, address text: String) {
        guard sessions[peer] == nil, registry.admits(now: now()) == nil,
              let address = HostPort(text), !dialing.contains(address.description) else {
            perform(core.syncFinished(peer, now: now()))
            return
        }
        log.debug("sync: the replication core asks for a session", metadata: ["peer": "\(peer.hex.prefix(12))"])
        sessions[peer] = Task(executorPreference: EventLoopExecutor.background) { await self.dial(address: address, expected: peer) }
    }

    /// Dials `address`, runs the handshake (insisting on `expected` when given) and a session.
    func dial(address: HostPort, expected: Bytes32?) async {
        metrics.syncsStarted += 1
        dialing.insert(address.description)
        defer { dialing.remove(address.description) }
        log.debug("sync: dialling", metadata: ["address": "\(address)", "expected": "\(expected.map { String($0.hex.prefix(12)) } ?? "any")"])
        var peer = expected
        var completed = false, confirmed = false
        do {
            var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.seconds(3))
            // Dial from the gossip address, so peers and firewalls see one address per node.
            if let local = localDialAddress { bootstrap = bootstrap.bind(to: local) }
            let connection = try await bootstrap
                .connect(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: .milliseconds(Int64(WireLimits.idleTimeoutMillis))))
                        try channel.pipeline.syncOperations.addHandler(CloseOnIdle())
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
            let watchdog = Self.handshakeWatchdog(connection.channel)
            confirmed = try await connection.executeThenClose { inbound, outbound in
                var reader = InboundBytes(iterator: inbound.makeAsyncIterator())
                var hs = HandshakeInitiator(networkKey: networkKey, identity: identity, expectedPeer: expected)
                let keys: SessionKeys
                do {
                    try await outbound.write(ByteBuffer(bytes: hs.start()))
                    let m3 = try hs.receive(message2: await reader.read(exactly: Handshake.message2Bytes))
                    try await outbound.write(ByteBuffer(bytes: m3))
                    keys = try hs.receive(message4: await reader.read(exactly: Handshake.message4Bytes))
                } catch let e as HandshakeError { throw SessionError.handshake(e) }
                watchdog.cancel()
                peer = keys.peer
                core.syncStarted(keys.peer, now: now())  // seed and start-up dials count too
                return try await runSession(keys: keys, reader: &reader, outbound: outbound, channel: connection.channel)
            }
            metrics.syncsCompleted += 1
            completed = confirmed
        } catch {
            metrics.syncsFailed += 1
            if let e = error as? SessionError { metrics.sessionsRejected[e.label, default: 0] += 1 }
        }
        if let expected { sessions[expected] = nil }
        if let p = peer { perform(core.syncFinished(p, completed: completed, now: now())) }
    }

    /// Serves a session a peer opened, within the connection limits.
    func accept(_ accepted: AcceptedConnection) async {
        guard let connection = accepted.take() else { return }
        let source = connection.channel.remoteAddress?.ipAddress ?? "?"
        guard handshaking[source, default: 0] < SessionLimits.maxHandshakesPerSource, handshakingTotal < SessionLimits.maxHandshakes else {
            metrics.connectionsRefused["handshake_limit", default: 0] += 1
            if let n = logThrottle.note("limit handshakes", now: now()) {
                log.warning("limit hit: connections in their handshake (per source \(SessionLimits.maxHandshakesPerSource), in all \(SessionLimits.maxHandshakes)); refused",
                            metadata: ["from": "\(source)", "refused": "\(n)"])
            }
            try? await connection.executeThenClose { _, _ in }
            return
        }
        handshaking[source, default: 0] += 1
        handshakingTotal += 1
        ticketCounter += 1
        let ticket = ticketCounter
        inHandshake.insert(ticket)
        func handshakeOver() { endHandshake(ticket, source: source) }
        log.debug("sync: accepted a connection", metadata: ["from": "\(source)"])
        let watchdog = Self.handshakeWatchdog(connection.channel)
        var peer: Bytes32?
        var completed = false, confirmed = false
        do {
            confirmed = try await connection.executeThenClose { inbound, outbound in
                var reader = InboundBytes(iterator: inbound.makeAsyncIterator())
                var hs = HandshakeResponder(networkKey: networkKey, identity: identity)
                let keys: SessionKeys
                do {
                    let m2 = try hs.receive(message1: await reader.read(exactly: Handshake.message1Bytes))
                    try await outbound.write(ByteBuffer(bytes: m2))
                    let (m4, k) = try hs.receive(message3: await reader.read(exactly: Handshake.message3Bytes))
                    try await outbound.write(ByteBuffer(bytes: m4))
                    keys = k
                } catch let e as HandshakeError { handshakeOver(); throw SessionError.handshake(e) } catch { handshakeOver(); throw error }
                handshakeOver()
                watchdog.cancel()
                if store.isBlocked(keys.peer) { throw SessionError.closed }
                // While a big catch-up streams in, a second session would mostly carry the same
                // entries again: the peer retries after the catch-up (see ``SessionRegistry``).
                if let refusal = registry.admits(now: now()) { throw SessionError(refusal) }
                peer = keys.peer
                core.syncStarted(keys.peer, now: now())
                return try await runSession(keys: keys, reader: &reader, outbound: outbound, channel: connection.channel)
            }
            completed = confirmed
        } catch {
            handshakeOver()
            watchdog.cancel()
            if let e = error as? SessionError {
                metrics.sessionsRejected[e.label, default: 0] += 1
                if case .handshake(let h) = e, let n = logThrottle.note("handshake \(source)", now: now()) {
                    log.warning("failed handshakes from one address", metadata: [
                        "from": "\(source)", "count": "\(n)", "within_seconds": "\(logThrottle.intervalMillis / 1000)",
                        "likely_cause": "\(h == .networkKeyMismatch ? "a different network key (a host of another network, or this network's key was rotated without it)" : "not a gossip-node of this version, or a broken connection")",
                    ])
                }
            }
        }
        if let p = peer { perform(core.syncFinished(p, completed: completed, now: now())) }
    }

    /// A connection left its handshake (done or failed): it no longer counts against the limits.
    func endHandshake(_ ticket: UInt64, source: String) {
        guard inHandshake.remove(ticket) != nil else { return }
        handshakingTotal -= 1
        if let n = handshaking[source], n > 1 { handshaking[source] = n - 1 } else { handshaking[source] = nil }
    }

    /// Closes the connection if the handshake has not finished in time.
    nonisolated static func handshakeWatchdog(_ channel: any Channel) -> Task<Void, Never> {
        Task {
            try? await Task.sleep(for: .milliseconds(Int(WireLimits.handshakeTimeoutMillis)))
            if !Task.isCancelled { channel.close(promise: nil) }
        }
    }
}
