import Testing
@testable import CRDTLog

@Suite("JSON")
struct JSONTests {
    @Test func parsesAndSerialisesCanonically() throws {
        let v = try JSON.parse(Array(#" {"b": [1, 2.5, -3e2, true, null], "a": "x\"\u00e9\ud83d\ude00\n"} "#.utf8))
        #expect(JSON.serialize(v) == #"{"a":"x\"é😀\n","b":[1,2.5,-300,true,null]}"#)
        #expect(try JSON.parse(Array(JSON.serialize(v).utf8)) == v)
    }

    /// The canonical text is a signed payload's bytes: escapes must never change. Control
    /// characters other than \n, \r and \t as lower-case \u00xx, DEL and non-ASCII as they are.
    @Test func escapesEveryControlCharacterAndCopiesTheRest() throws {
        let text = "a\u{00}\u{01}\u{08}\t\n\u{0B}\u{0C}\r\u{1B}\u{1F} \"\\/\u{7F}é€😀z"
        let expected = #""a\u0000\u0001\u0008\t\n\u000b\u000c\r\u001b\u001f \"\\/"# + "\u{7F}é€😀z\""
        #expect(JSON.serialize(.string(text)) == expected)
        #expect(JSON.serializedBytes(.object([text: .string(text)])) == Array(("{" + expected + ":" + expected + "}").utf8))
        #expect(try JSON.parse(JSON.serializedBytes(.string(text))) == .string(text))
        #expect(JSON.serialize(.string("")) == #""""#)
        #expect(JSON.serialize(.array([.string("\""), .string("\\"), .string("\n")])) == #"["\"","\\","\n"]"#)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"\u{01}\"", "tru", "{} {}", "\"\\ud800\"", "1e999"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSON.ParseError.self) { try JSON.parse(Array(text.utf8)) }
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSON.ParseError.self) { try JSON.parse(Array(deep.utf8)) }
        let ok = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(throws: Never.self) { try JSON.parse(Array(ok.utf8)) }
    }

    @Test func payloadsReadFieldsAndIgnoreUnknownOnes() {
        let m = MemoryPayload(json: Array(#"{"category":"c","content":"x","tags":["a"],"meta":{"k":1},"future_field":[1]}"#.utf8))
        #expect(m?.category == "c" && m?.tags == ["a"] && m?.meta == .object(["k": .number(1)]))
        #expect(MemoryPayload(json: Array(#"{"category":"c"}"#.utf8)) == nil)
        #expect(MemoryPayload(json: Array(#"{"category":"c","content":"x","tags":[1]}"#.utf8)) == nil)
        #expect(BreakerPayload(json: Array(#"{"provider":"p","model":"m","state":"half_open"}"#.utf8))?.state == .halfOpen)
        #expect(BreakerPayload(json: Array(#"{"provider":"p","model":"m","state":"ajar"}"#.utf8)) == nil)
        #expect(BenchmarkPayload(json: Array(#"{"provider":"p","model":"m","metric":"x","value":"1"}"#.utf8)) == nil)
    }
}
