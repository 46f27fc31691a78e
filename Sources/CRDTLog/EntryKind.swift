/// The entry kinds this version understands. Any other well-formed kind is stored, counted in
/// the version vector and relayed unchanged, and ignored by the views.
public enum EntryKind {
    /// A memory: payload ``MemoryPayload``, identified by (author, key).
    public static let memory = "memory"
    /// A retraction of the author's own memory with the same key: payload `{}` (or `{"host":..}`).
    public static let memoryRetraction = "memory.retract"
    /// A circuit-breaker event: payload ``BreakerPayload``, key `provider/model`.
    public static let breaker = "breaker"
    /// A benchmark observation: payload ``BenchmarkPayload``.
    public static let benchmark = "benchmark"
    /// A new identity continuing a forked one: payload ``Succession``, seq 1 of its author.
    public static let successor = "identity.successor"
    /// A checkpoint of the author's own log: payload ``Checkpoint`` (binary), key empty. Entries
    /// of the author below it that it does not keep are deleted everywhere (docs/protocol.md, "Retention").
    public static let checkpoint = "log.checkpoint"

    /// Kinds are 1...32 bytes of `[a-z0-9._-]`.
    public static func isWellFormed(_ kind: String) -> Bool {
        let u = kind.utf8
        guard !u.isEmpty, u.count <= LogLimits.maxKindBytes else { return false }
        return u.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }
}
