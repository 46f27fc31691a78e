import Foundation
import Testing
@testable import GossipCore
@testable import GossipNode

/// docs/openapi.yaml and the router describe the same routes.
@Suite("OpenAPI document")
struct OpenAPITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func documentAndRouterAgree() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        var documented = Set<String>()
        var path: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") { path = String(line.dropFirst(2).dropLast()); continue }
            for m in ["get", "post", "delete", "put", "patch"] where line == "    \(m):" {
                if let path { documented.insert("\(m.uppercased()) \(path)") }
            }
        }
        let routed = Set(APIRoutes.all.map { "\($0.method) \($0.path)" })
        #expect(documented == routed, "only documented: \(documented.subtracting(routed)); only routed: \(routed.subtracting(documented))")
        #expect(routed.count == 15)
    }
}
