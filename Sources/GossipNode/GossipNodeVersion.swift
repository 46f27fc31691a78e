/// The version of gossip-node reported by `/v1/status` and `--version`.
public enum GossipNodeVersion {
    public static let current = "0.1.0"
    /// The wire protocol versions this build speaks (see docs/protocol.md).
    public static let protocolVersions: ClosedRange<UInt16> = 1...1
}
