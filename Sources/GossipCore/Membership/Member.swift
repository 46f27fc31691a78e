import Wire

/// What this node knows of one other member.
public struct Member: Sendable, Hashable {
    public var id: Bytes32
    public var address: String
    public var incarnation: UInt64
    public var state: MemberState
    /// When `state` last changed (ms).
    public var stateSince: UInt64
    /// When a packet from it last arrived (ms), 0 if never.
    public var lastSeen: UInt64
    /// The member's signature over its record at `incarnation` (empty when learned from this
    /// node's own database or an authenticated session, which need none; such a record is not relayed).
    public var signature: [UInt8] = []

    /// The member as news: signed when it is the member's own claim (alive or left).
    public var update: MemberUpdate {
        MemberUpdate(member: id, address: address, incarnation: incarnation, state: state,
                     signature: state == .alive || state == .left ? signature : [])
    }
}

/// What the membership core asks its shell to do.
public enum MembershipEffect: Sendable, Equatable {
    /// Send these messages in one datagram to `address` (of `member`, when known).
    case send(to: String, member: Bytes32?, messages: [Message])
    /// A member's state or address changed: persist it, update metrics, tell replication.
    case changed(MemberUpdate)
    /// Forget a member for good (dead or left for longer than the retention).
    case forget(Bytes32)
}
