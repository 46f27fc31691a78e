import CRDTLog
import Foundation
import Wire

/// `gossip-bench bundle`: writes a bundle (the format of `gossip-node export`) of generated,
/// signed memories, for loading benchmark clusters with `gossip-node import`.
enum BundleCommand {
    static func run(entries: Int, authors: Int, seedBase: Int, path: String) throws {
        let corpus = try IngestBenchmark.makeCorpus(entries: entries, authors: authors, seedBase: seedBase)
        var w = ByteWriter(capacity: corpus.count * 600)
        w.raw(Array("gossip-node bundle 1\n".utf8))
        for e in corpus {
            let b = e.encoded
            w.u32(UInt32(b.count))
            w.raw(b)
        }
        try Data(w.bytes).write(to: URL(fileURLWithPath: path))
        let size = corpus.reduce(0) { $0 + $1.encoded.count }
        print("{\"entries\": \(corpus.count), \"authors\": \(authors), \"encoded_bytes\": \(size), \"payload_bytes\": \(corpus.reduce(0) { $0 + $1.payload.count })}")
    }
}
