import Testing
import Wire
@testable import GossipCore
@testable import GossipNode

/// The per-author token bucket on entries from the network.
@Suite("AuthorQuota")
struct AuthorQuotaTests {
    let alice = Bytes32(w0: 1, w1: 0, w2: 0, w3: 0)
    let bob = Bytes32(w0: 2, w1: 0, w2: 0, w3: 0)

    @Test func aFullBucketAdmitsAtMostAnHourOfEntriesAtOnce() {
        var q = AuthorQuota(perHour: 100)
        #expect(q.admit(alice, count: 60, now: 1_000) == 60)
        #expect(q.admit(alice, count: 60, now: 1_000) == 40)
        #expect(q.admit(alice, count: 1, now: 1_000) == 0)
    }

    @Test func authorsHaveSeparateBuckets() {
        var q = AuthorQuota(perHour: 10)
        #expect(q.admit(alice, count: 50, now: 0) == 10)
        #expect(q.admit(bob, count: 50, now: 0) == 10)
    }

    @Test func theBucketRefillsAtTheHourlyRateAndNoFurther() {
        var q = AuthorQuota(perHour: 3_600)  // one entry per second
        #expect(q.admit(alice, count: 10_000, now: 0) == 3_600)
        #expect(q.admit(alice, count: 10, now: 999) == 0)
        #expect(q.admit(alice, count: 10, now: 5_000) == 5)
        // Ten hours idle refill one hour's worth, not ten.
        #expect(q.admit(alice, count: 100_000, now: 36_005_000) == 3_600)
    }

    @Test func aClockSteppingBackRefillsNothing() {
        var q = AuthorQuota(perHour: 3_600)
        #expect(q.admit(alice, count: 3_600, now: 10_000_000) == 3_600)
        #expect(q.admit(alice, count: 1, now: 5_000) == 0)
        #expect(q.admit(alice, count: 1, now: 9_999_999) == 0)
        #expect(q.admit(alice, count: 2, now: 10_002_000) == 2)
    }

    @Test func aZeroOrNegativeQuotaStillLetsOneEntryAnHourThrough() {
        var q = AuthorQuota(perHour: 0)
        #expect(q.perHour == 1)
        #expect(q.admit(alice, count: 5, now: 0) == 1)
    }
}
