import Foundation
import Wire

let usage = """
    usage: gossip-bench ingest [--entries N]
           gossip-bench attack --target HOST:PORT --network-key-file F [--from ADDRESS]
           gossip-bench attack --member --victim AUTHOR --target HOST:PORT --network-key-file F --from ADDRESS [--listen ADDRESS:PORT]
      ingest   batch ingest vs the machine's verify+insert limit, local append rate, recall latency
      bundle   --entries N --authors A --out FILE [--seed S]: a bundle of generated signed memories
      attack   hostile input at a node's gossip port (for scripts/reliability); prints a JSON report;
               --member: a member holding the key attacks membership, limits and sessions (scripts/reliability member)
    """
let args = CommandLine.arguments.dropFirst()
switch args.first {
case "ingest":
    var b = IngestBenchmark()
    if let i = args.firstIndex(of: "--entries"), i + 1 < args.endIndex, let n = Int(args[i + 1]) { b.entryCount = n }
    try await b.run()
case "bundle":
    func opt(_ flag: String) -> String? {
        guard let i = args.firstIndex(of: flag), i + 1 < args.endIndex else { return nil }
        return args[i + 1]
    }
    guard let n = opt("--entries").flatMap({ Int($0) }), let a = opt("--authors").flatMap({ Int($0) }), a >= 1, let out = opt("--out") else {
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(2)
    }
    try BundleCommand.run(entries: n, authors: a, seedBase: opt("--seed").flatMap { Int($0) } ?? 0, path: out)
case "attack":
    func value(_ flag: String) -> String? {
        guard let i = args.firstIndex(of: flag), i + 1 < args.endIndex else { return nil }
        return args[i + 1]
    }
    guard let t = value("--target"), let hp = t.split(separator: ":").last.flatMap({ Int($0) }),
          let keyFile = value("--network-key-file"),
          let keyHex = try? String(contentsOfFile: keyFile, encoding: .utf8),
          let key = Bytes32(hex: keyHex.trimmingCharacters(in: .whitespacesAndNewlines))?.bytes else {
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(2)
    }
    let host = String(t.split(separator: ":").dropLast().joined(separator: ":"))
    if args.contains("--member") {
        guard let victim = value("--victim").flatMap({ Bytes32(hex: $0) }), let from = value("--from") else {
            FileHandle.standardError.write(Data((usage + "\n").utf8))
            exit(2)
        }
        var attack = MemberAttack(target: (host, hp), from: from, victim: victim, networkKey: key)
        if let l = value("--listen"), let p = l.split(separator: ":").last.flatMap({ Int($0) }) {
            attack.listen = (String(l.split(separator: ":").dropLast().joined(separator: ":")), p)
        }
        do { try attack.run() } catch {
            FileHandle.standardError.write(Data("attack: \(error)\n".utf8))
            exit(1)
        }
        print("{" + attack.report.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}")
        exit(0)
    }
    var attack = Attack()
    attack.target = (host, hp)
    attack.from = value("--from")
    attack.networkKey = key
    do { try attack.run() } catch {
        FileHandle.standardError.write(Data("attack: \(error)\n".utf8))
        exit(1)
    }
    let report = attack.report.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
    print("{\(report)}")
default:
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(2)
}
