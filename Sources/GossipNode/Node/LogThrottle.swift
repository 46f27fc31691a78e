/// Keeps a repeated event (handshake failures from one address, a limit hit again and again)
/// to one log line per key per interval, with the count of what happened meanwhile. Bounded:
/// at most ``maxKeys`` keys; the oldest is forgotten first.
struct LogThrottle: Sendable {
    static let maxKeys = 256
    let intervalMillis: UInt64
    private var state: [String: (lastLogged: UInt64, count: Int)] = [:]

    init(intervalMillis: UInt64 = 60_000) { self.intervalMillis = intervalMillis }

    /// Counts one event for `key`; returns how many to report (this one included) when a line
    /// is due, else nil.
    mutating func note(_ key: String, now: UInt64) -> Int? {
        if var s = state[key] {
            s.count += 1
            if now >= s.lastLogged, now - s.lastLogged >= intervalMillis {
                state[key] = (now, 0)
                return s.count
            }
            state[key] = s
            return nil
        }
        if state.count >= Self.maxKeys, let oldest = state.min(by: { $0.value.lastLogged < $1.value.lastLogged })?.key {
            state[oldest] = nil
        }
        state[key] = (now, 0)
        return 1
    }
}
