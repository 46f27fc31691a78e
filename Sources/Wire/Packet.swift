/// A UDP datagram: several messages from one sender, sealed with the network's packet key.
///
/// ```
/// datagram  = 0x01 || nonce (24) || XChaCha20-Poly1305(packetKey, nonce, ad = 0x01, plaintext)
/// plaintext = sender (32) || sent_at ms (u64) || { type (u8) || length (varint) || body }*
/// ```
/// Anything that fails to open is dropped unparsed; the sealed sender and time let a receiver
/// drop stale or replayed datagrams.
public struct Packet: Sendable, Hashable {
    public static let version: UInt8 = 1

    public var sender: Bytes32
    public var sentAtMillis: UInt64
    public var messages: [Message]

    public init(sender: Bytes32, sentAtMillis: UInt64, messages: [Message]) {
        self.sender = sender; self.sentAtMillis = sentAtMillis; self.messages = messages
    }

    /// The key every member derives from the network key for sealing datagrams.
    public static func packetKey(networkKey: [UInt8]) -> [UInt8] {
        KeyedHash.mac(key: networkKey, Array("gossip-node/udp/v1".utf8))
    }

    /// The plaintext (before sealing).
    public var plaintext: [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.raw(sender)
        w.u64(sentAtMillis)
        for m in messages {
            var body = ByteWriter()
            m.encodeBody(into: &body)
            w.u8(m.type)
            w.lengthPrefixed(body.bytes)
        }
        return w.bytes
    }

    /// Seals with a random nonce. Fails when the datagram would exceed ``WireLimits/maxDatagramBytes``.
    public func seal(packetKey: [UInt8], nonce: [UInt8] = Sodium.randomBytes(XChaCha20Poly1305.nonceBytes)) throws(WireDecodingError) -> [UInt8] {
        let p = plaintext
        let total = p.count + WireLimits.datagramOverhead
        guard total <= WireLimits.maxDatagramBytes else {
            throw WireDecodingError(.tooLong(field: "datagram", length: total, limit: WireLimits.maxDatagramBytes), at: 0)
        }
        return [Self.version] + nonce + XChaCha20Poly1305.seal(p, key: packetKey, nonce: nonce, ad: [Self.version])
    }

    /// Why a datagram was dropped (each is counted under its label).
    public enum DropReason: String, Sendable, Error {
        case tooLarge = "too_large", badVersion = "bad_version", unauthenticated, malformed
    }

    /// Opens and decodes a datagram; unknown message types inside are kept as `.unknown`.
    public static func open(_ datagram: [UInt8], packetKey: [UInt8]) throws(DropReason) -> Packet {
        guard datagram.count <= WireLimits.maxDatagramBytes else { throw .tooLarge }
        guard datagram.count >= WireLimits.datagramOverhead, datagram[0] == version else { throw .badVersion }
        let nonce = datagram[1..<(1 + XChaCha20Poly1305.nonceBytes)]
        guard let plain = XChaCha20Poly1305.open(datagram[(1 + XChaCha20Poly1305.nonceBytes)...], key: packetKey, nonce: nonce, ad: [version]) else {
            throw .unauthenticated
        }
        do {
            return try decode(plaintext: plain)
        } catch { throw .malformed }
    }

    /// Decodes an opened plaintext.
    public static func decode(plaintext: [UInt8]) throws(WireDecodingError) -> Packet {
        var r = ByteReader(plaintext)
        let sender = try r.bytes32()
        let timeOffset = r.offset
        let sentAt = try r.u64()
        guard sentAt <= WireLimits.maxTimestampMillis else {
            throw WireDecodingError(.invalid(field: "sent_at", detail: "beyond the year 9999"), at: timeOffset)
        }
        var messages: [Message] = []
        while !r.isAtEnd {
            let type = try r.u8()
            let length = try r.count("message", limit: WireLimits.maxDatagramBytes)
            let start = r.offset
            _ = try r.raw(length)
            var body = ByteReader(plaintext, range: start..<(start + length))
            messages.append(try Message.decodeBody(type: type, &body))
        }
        return Packet(sender: sender, sentAtMillis: sentAt, messages: messages)
    }
}

/// Remembers recently seen datagram nonces so a captured datagram re-sent within the freshness
/// window is dropped; older ones are dropped as stale by their sealed time. Bounded.
public struct ReplayFilter: Sendable {
    private var seen: Set<[UInt8]> = []
    private var order: [([UInt8], UInt64)] = []
    private var head = 0
    public let capacity: Int

    public init(capacity: Int = 65_536) { self.capacity = capacity }

    public enum Verdict: Sendable, Equatable { case fresh, replayed, stale }

    /// Checks a datagram (its nonce and sealed time) at local time `now`, and records it.
    public mutating func check(nonce: [UInt8], sentAtMillis: UInt64, now: UInt64) -> Verdict {
        let window = WireLimits.datagramFreshnessMillis
        // Differences, never sums: `sent_at` comes off the wire and may be anything.
        let age = now >= sentAtMillis ? now - sentAtMillis : 0
        let ahead = sentAtMillis > now ? sentAtMillis - now : 0
        if age > window || ahead > window { return .stale }
        while head < order.count, (now >= order[head].1 && now - order[head].1 > 2 * window) || seen.count >= capacity {
            seen.remove(order[head].0)
            head += 1
        }
        if head > 4096, head * 2 > order.count { order.removeFirst(head); head = 0 }
        guard seen.insert(nonce).inserted else { return .replayed }
        order.append((nonce, now))
        return .fresh
    }
}
