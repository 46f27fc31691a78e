import Synchronization

/// Requests served by the API per route (`METHOD /path` as docs/openapi.yaml writes it): counts
/// by status class and a latency histogram. Requests refused before routing (local-caller
/// checks, token) are counted in `api_refused_total`; unknown paths are not counted per route.
/// Bounded: one entry per route of ``APIRoutes/table``.
public final class APIMetrics: Sendable {
    /// Upper bounds of the latency histogram's buckets, in seconds.
    public static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

    struct Route: Sendable {
        var byClass: [String: Int] = [:]
        var bucketCounts = [Int](repeating: 0, count: APIMetrics.buckets.count)
        var count = 0
        var sum = 0.0
    }

    private let routes = Mutex<[String: Route]>([:])

    public init() {}

    /// Records one request of `route` that answered `status` after `seconds`.
    public func record(route: String, status: Int, seconds: Double) {
        routes.withLock { all in
            var r = all[route] ?? Route()
            r.byClass["\(status / 100)xx", default: 0] += 1
            for (i, bound) in Self.buckets.enumerated() where seconds <= bound { r.bucketCounts[i] += 1 }
            r.count += 1
            r.sum += seconds
            all[route] = r
        }
    }

    /// The Prometheus text of both metrics.
    func render(prefix: String) -> String {
        let snapshot = routes.withLock { $0 }
        var out = "# HELP \(prefix)api_requests_total API requests answered, by route and status class.\n# TYPE \(prefix)api_requests_total counter\n"
        for (route, r) in snapshot.sorted(by: { $0.key < $1.key }) {
            for (c, n) in r.byClass.sorted(by: { $0.key < $1.key }) { out += "\(prefix)api_requests_total{route=\"\(route)\",code=\"\(c)\"} \(n)\n" }
        }
        out += "# HELP \(prefix)api_request_duration_seconds API request latency, by route.\n# TYPE \(prefix)api_request_duration_seconds histogram\n"
        for (route, r) in snapshot.sorted(by: { $0.key < $1.key }) {
            for (i, bound) in Self.buckets.enumerated() {
                out += "\(prefix)api_request_duration_seconds_bucket{route=\"\(route)\",le=\"\(bound)\"} \(r.bucketCounts[i])\n"
            }
            out += "\(prefix)api_request_duration_seconds_bucket{route=\"\(route)\",le=\"+Inf\"} \(r.count)\n"
            out += "\(prefix)api_request_duration_seconds_sum{route=\"\(route)\"} \(r.sum)\n"
            out += "\(prefix)api_request_duration_seconds_count{route=\"\(route)\"} \(r.count)\n"
        }
        return out
    }
}

/// When this process started (ms since the epoch): first read by ``NodeRunner`` at start.
public enum ProcessStart {
    public static let millis: UInt64 = wallClockMillis()
}
