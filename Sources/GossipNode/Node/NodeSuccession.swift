import CRDTLog
import Logging
import Wire

extension Node {
    /// After fork proofs were recorded for `authors`: when this node's own identity is among
    /// them, it cannot write under it again, so it asks its runner to move to a successor
    /// identity (``ownIdentityForked``); when this node already is a successor and its
    /// predecessor's fork point moved lower, it re-signs the newly hidden part of its branch
    /// (``LogStore/continuePredecessor(now:)``) and pushes it.
    func forksRecorded(_ authors: [AuthorID]) async {
        if authors.contains(identity.publicKey) {
            log.error("this node's own identity forked (its log was written from two places: a restored backup or a copied data directory); moving to a successor identity",
                      metadata: ["author": "\(identity.publicKey.hex.prefix(12))"])
            ownIdentityForkedContinuation.yield()
            return
        }
        guard let s = store.ownSuccession, authors.contains(s.predecessor) else { return }
        do {
            let signed = try await store.continuePredecessor(now: now())
            guard !signed.isEmpty else { return }
            let forkPoint = await store.forkPointsByAuthor()[s.predecessor] ?? 0
            log.notice("the previous identity's fork point moved lower: re-signed its writes from there under this identity",
                       metadata: ["entries": "\(signed.count)", "fork_point": "\(forkPoint)"])
            await afterStore(signed, forks: false, from: nil, pushOn: true)
        } catch {
            log.error("could not re-sign the previous identity's forked writes: \(error)")
        }
    }
}
