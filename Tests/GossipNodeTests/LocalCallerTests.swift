import Testing
@testable import GossipCore
@testable import GossipNode

/// The API's defences against web pages (a browser on the same machine) and the address parsing
/// they rest on.
@Suite("Local callers")
struct LocalCallerTests {
    let loopback = HostPort(host: "127.0.0.1", port: 7421)

    func code(_ method: String = "GET", host: String? = "127.0.0.1:7421", origin: String? = nil, type: String? = nil,
              bind: HostPort? = nil) -> String? {
        LocalCallerPolicy.refusal(method: method, host: host, origin: origin, contentType: type, bind: bind ?? loopback)?.code
    }

    @Test func loopbackHostsPassAndOthersAreRefused() {
        for ok in ["127.0.0.1:7421", "localhost:7421", "localhost", "127.0.0.2", "[::1]:7421", "127.255.0.1:80"] {
            #expect(code(host: ok) == nil, "\(ok)")
        }
        for bad in ["evil.example.com", "127.example.com:7421", "127.0.0.1.nip.io", "10.0.0.1:7421", "", "[::2]:7421"] {
            #expect(code(host: bad) == "host_not_allowed", "\(bad)")
        }
        #expect(code(host: nil) == "host_not_allowed")
        // Bound beyond loopback the bearer token guards the API; the Host is whatever the caller used.
        #expect(code(host: "gossip.lan:7421", bind: HostPort(host: "10.0.0.5", port: 7421)) == nil)
    }

    @Test func foreignOriginsAreRefused() {
        #expect(code(origin: "http://127.0.0.1:7421") == nil)
        #expect(code(origin: "http://localhost:7421") == nil)
        #expect(code(origin: "https://evil.example") == "origin_not_allowed")
        #expect(code(origin: "null") == "origin_not_allowed")
        #expect(code(origin: "http://127.0.0.1:8080") == "origin_not_allowed")
    }

    @Test func writesMustBeJSON() {
        #expect(code("POST", type: "application/json") == nil)
        #expect(code("POST", type: "application/json; charset=utf-8") == nil)
        for t in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""] {
            #expect(code("POST", type: t) == "unsupported_media_type", "\(t)")
        }
        #expect(code("POST", type: nil) == "unsupported_media_type")
        #expect(code("GET", type: nil) == nil)
        #expect(code("DELETE", type: nil) == nil)
    }

    @Test func addressesAreParsedNotPrefixMatched() {
        #expect(IPAddress("127.0.0.1")?.isLoopback == true)
        #expect(IPAddress("::1")?.isLoopback == true)
        #expect(IPAddress("::ffff:127.0.0.1")?.isLoopback == true)
        #expect(IPAddress("127.example.com") == nil)
        #expect(IPAddress("127.1") == nil)
        #expect(IPAddress("10.0.0.1")?.isLoopback == false)
        #expect(HostPort(host: "127.example.com", port: 1).isLoopback == false)
        #expect(HostPort.isIPAddressWithPort("100.64.0.1:7420"))
        #expect(HostPort.isIPAddressWithPort("[fd7a:115c:a1e0::1]:7420"))
        #expect(!HostPort.isIPAddressWithPort("host.example:7420"))
        #expect(!HostPort.isIPAddressWithPort("10.0.0.1:0"))
        #expect(!HostPort.isIPAddressWithPort("10.0.0.1"))
    }
}

/// An advertised name is resolved once at start: member records carry numeric addresses.
@Suite("Advertised addresses")
struct AdvertisedAddressTests {
    @Test func namesResolveToANumericAddress() {
        let local = resolveNumeric("localhost")
        #expect(local == "127.0.0.1" || local == "::1")
        #expect(resolveNumeric("127.0.0.5") == "127.0.0.5")
        #expect(local.map { IPAddress($0) != nil } == true)
    }
}

/// Which routes count as a client's use of the log (a peer's batch yields to them).
@Suite("Client routes")
struct ClientRouteTests {
    @Test func theLogsReadsAndWritesAreClientUseAndStatusIsNot() {
        let client = Set(APIRoutes.table.filter(\.isClientUse).map { "\($0.method) \($0.path)" })
        #expect(client == ["POST /v1/memories", "GET /v1/memories", "GET /v1/memories/{author}/{key}", "DELETE /v1/memories/{key}",
                           "POST /v1/breakers", "GET /v1/breakers", "POST /v1/benchmarks", "GET /v1/benchmarks"])
    }
}
