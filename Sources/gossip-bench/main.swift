import Foundation

let usage = """
    usage: gossip-bench ingest [--entries N]
      ingest   batch ingest vs the machine's verify+insert limit, local append rate, recall latency
    """
let args = CommandLine.arguments.dropFirst()
switch args.first {
case "ingest":
    var b = IngestBenchmark()
    if let i = args.firstIndex(of: "--entries"), i + 1 < args.endIndex, let n = Int(args[i + 1]) { b.entryCount = n }
    try await b.run()
default:
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(2)
}
