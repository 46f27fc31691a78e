import CRDTLog
import Dispatch
import GossipCore
import Logging
import NIOCore
import NIOPosix
import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The UDP shell: datagrams in (opened, replay-checked, handed to the core) and out (sealed).
extension Node {
    func receive(_ envelope: AddressedEnvelope<ByteBuffer>) async {
        let bytes = Array(envelope.data.readableBytesView)
        metrics.packetsIn += 1
        metrics.bytesIn += bytes.count
        let packet: Packet
        do { packet = try Packet.open(bytes, packetKey: packetKey) } catch {
            metrics.packetsDropped[error.rawValue, default: 0] += 1
            return
        }
        let t = now()
        switch replay.check(nonce: Array(bytes[1..<25]), sentAtMillis: packet.sentAtMillis, now: t) {
        case .fresh: break
        case .replayed: metrics.packetsDropped["replayed", default: 0] += 1; return
        case .stale: metrics.packetsDropped["stale", default: 0] += 1; return
        }
        guard let ip = envelope.remoteAddress.ipAddress, let port = envelope.remoteAddress.port else { return }
        let from = HostPort(host: ip, port: port).description
        if store.isBlocked(packet.sender) { metrics.packetsDropped["blocked", default: 0] += 1; return }
        // Digests and pushes count only from members: a sender the membership does not know
        // (no signed record yet) gets nothing started on its account.
        let (effects, pushed) = core.datagram(packet, from: from, now: t)
        perform(effects)
        guard !pushed.isEmpty else { return }
        // A copy of an entry taken in lately is dropped before it costs a signature check.
        let fresh = pushed.filter { !recentEntries.contains($0) }
        metrics.duplicatePushes += pushed.count - fresh.count
        if !fresh.isEmpty, enqueuePush(fresh, from: packet.sender) {
            for e in fresh { recentEntries.insert(e) }
        }
    }

    /// Queues pushed entries for the drain task (started when idle); false when they were not
    /// queued. Past the queue's limit a push is dropped and counted (`push_queue_full`); the
    /// digest shows the gap and a sync fetches it.
    @discardableResult
    func enqueuePush(_ entries: [[UInt8]], from peer: Bytes32) -> Bool {
        guard pushQueueEntries + entries.count <= SessionLimits.maxQueuedPushEntries else {
            metrics.packetsDropped["push_queue_full", default: 0] += 1
            return false
        }
        pushQueue.append((peer, entries))
        pushQueueEntries += entries.count
        guard !pushDrainRunning else { return true }
        pushDrainRunning = true
        Task { await self.drainPushes() }
        return true
    }

    /// Stores what the push queue holds, batch after batch: all queued entries of one sender in
    /// one ingest (verified on all cores, one transaction), senders in the order they first
    /// appear. A node that fell behind during a burst catches up in a few large transactions
    /// instead of one per datagram.
    func drainPushes() async {
        while !pushQueue.isEmpty {
            let batch = pushQueue
            pushQueue.removeAll(keepingCapacity: true)
            pushQueueEntries = 0
            var order: [Bytes32] = []
            var byPeer: [Bytes32: [[UInt8]]] = [:]
            for (peer, entries) in batch {
                if byPeer[peer] == nil { order.append(peer) }
                byPeer[peer, default: []] += entries
            }
            for peer in order {
                let entries = byPeer[peer] ?? []
                for start in stride(from: 0, to: entries.count, by: WireLimits.maxEntriesPerMessage) {
                    await ingest(Array(entries[start..<min(start + WireLimits.maxEntriesPerMessage, entries.count)]), from: peer, viaSync: false)
                }
            }
        }
        pushDrainRunning = false
    }

    func send(_ messages: [Message], to address: String) {
        guard let out = udpOut else { return }
        let target: SocketAddress
        if let cached = socketAddresses[address] { target = cached } else {
            // Numeric addresses only: a name would need a blocking lookup on the node's executor
            // (member records carry IP literals; see ``HostPort/isIPAddressWithPort(_:)``).
            guard let hp = HostPort(address), IPAddress(hp.host) != nil, let a = try? SocketAddress(ipAddress: hp.host, port: hp.port) else {
                metrics.packetsDropped["unresolvable_address", default: 0] += 1
                return
            }
            if socketAddresses.count >= SessionLimits.maxCachedAddresses { socketAddresses.removeAll(keepingCapacity: true) }
            socketAddresses[address] = a
            target = a
        }
        let packet = Packet(sender: identity.publicKey, sentAtMillis: now(), messages: messages)
        guard let sealed = try? packet.seal(packetKey: packetKey) else { return }
        metrics.packetsOut += 1
        metrics.bytesOut += sealed.count
        if messages.contains(where: { if case .push = $0 { true } else { false } }) { metrics.pushBytesOut += sealed.count }
        out.yield(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: sealed)))
    }
}
