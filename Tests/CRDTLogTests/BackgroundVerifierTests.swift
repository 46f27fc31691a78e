import Testing
import Wire
@testable import CRDTLog

/// The low-priority verification threads give the same answers, in order, as the inline path.
@Suite("Background verifier")
struct BackgroundVerifierTests {
    @Test(arguments: [0, 1, 15, 16, 17, 500])
    func matchesInlineVerificationInOrder(count: Int) async {
        var encoded = Fixtures.chain(Fixtures.keyPair(3), count: count).map(\.encoded)
        if count > 2 {
            encoded[1][encoded[1].count - 1] ^= 0x01      // a payload byte: hash mismatch
            encoded[count / 2] = Array(encoded[count / 2].prefix(10))  // truncated
        }
        let pool = BackgroundVerifier(threads: 3)
        let background = await pool.decodeAndVerify(encoded)
        let inline = EntryVerifier.check(encoded)
        #expect(background.count == count)
        #expect(background.map(describe) == inline.map(describe))
        if count > 2 {
            #expect(background.filter { if case .failure = $0 { true } else { false } }.count == 2)
        }
    }

    func describe(_ r: Result<Entry, EntryRejection>) -> String {
        switch r {
        case .success(let e): "ok \(e.seq) \(e.id.hex)"
        case .failure(let why): "rejected \(why.label)"
        }
    }
}
