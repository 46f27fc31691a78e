import GossipClient
import GossipCore
import GossipNode
import Testing

/// The standard-library replacements for the few Foundation string functions the node used.
@Suite struct TextTests {
    @Test func trimming() {
        #expect("  a b \t\r\n".trimming() == "a b")
        #expect("\r\nx\r".trimming("\r") == "\r\nx")   // "\r\n" is one character, not only "\r"
        #expect("\nx\n".trimming() == "x")
        #expect("x\r\n".trimming() == "x")
        #expect("   ".trimming() == "")
        #expect("k = v"[...].trimming(" ") == "k = v")
    }

    @Test func decimals() {
        #expect(decimal(1.25, places: 1) == "1.3")
        #expect(decimal(0.04, places: 1) == "0.0")
        #expect(decimal(12, places: 2) == "12.00")
        #expect(decimal(-3.14159, places: 3) == "-3.142")
        #expect(decimal(-0.001, places: 1) == "0.0")
        #expect(decimal(7.6, places: 0) == "8")
    }

    @Test func percentEncoding() {
        #expect(percentEncode("a-Z_0.9~") == "a-Z_0.9~")
        #expect(percentEncode("provider x/y?z=1&w") == "provider%20x%2Fy%3Fz%3D1%26w")
        #expect(percentEncode("é") == "%C3%A9")
    }

    @Test func padding() {
        #expect("ab".padded(to: 4) == "ab  ")
        #expect("abcdef".padded(to: 4) == "abcdef")
    }

    @Test func tilde() {
        #expect(expandingTilde("/abs/path") == "/abs/path")
        #expect(expandingTilde("~user/x") == "~user/x")
        let home = expandingTilde("~")
        #expect(expandingTilde("~/d") == home + "/d")
    }
}
