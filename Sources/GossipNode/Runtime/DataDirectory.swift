import CRDTLog
import GossipClient
import GossipCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The data directory: `identity` (0600), `network.key` (0600, unless a file was named),
/// `config`, `node.db`. Nothing else is needed to move a node to another machine.
public struct DataDirectory: Sendable {
    public let path: String
    public init(_ path: String) { self.path = path }

    public var identityPath: String { path + "/identity" }
    public var networkKeyPath: String { path + "/network.key" }
    public var configPath: String { path + "/config" }
    public var databasePath: String { path + "/node.db" }
    public var lockPath: String { path + "/node.lock" }

    /// Creates the directory with a new identity, config and database; returns the author id.
    public func initialise(networkKeyFile: String?) throws -> AuthorID {
        let fm = FileManager.default
        if fm.fileExists(atPath: identityPath) {
            throw UserError("\(path) already has an identity; refusing to overwrite it. Use another --data directory, or run the node that lives there.")
        }
        do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw UserError("cannot create \(path): \(error)")
        }
        if let f = networkKeyFile {
            _ = try Self.readNetworkKey(path: f)
        } else if !fm.fileExists(atPath: networkKeyPath) {
            do { try IdentityFile.writeSecret(Array((NetworkKey.generateHex() + "\n").utf8), to: networkKeyPath) } catch { throw UserError(error.description) }
        }
        let kp: SigningKeyPair
        do { kp = try IdentityFile.create(at: identityPath) } catch { throw UserError(error.description) }
        if !fm.fileExists(atPath: configPath) {
            var text = Settings.defaultConfigText()
            if let f = networkKeyFile { text += "network-key-file = \(f)\n" }
            fm.createFile(atPath: configPath, contents: Data(text.utf8))
        }
        do {
            let store = try LogStore(path: databasePath, identity: kp)
            await_close(store)
        } catch { throw UserError("cannot create the database: \(error)") }
        return kp.publicKey
    }

    public func loadIdentity() throws -> SigningKeyPair {
        do { return try IdentityFile.load(from: identityPath) } catch {
            if case .notFound = error { throw UserError("\(path) has no identity; run `gossip-node init --data \(path)` first") }
            throw UserError(error.description)
        }
    }

    /// Where a successor identity waits while this directory moves to it (see ``prepareSuccessor()``).
    public var successorPath: String { path + "/identity.next" }

    /// The successor key a start that stopped midway left behind, if any.
    public func pendingSuccessor() throws -> SigningKeyPair? {
        guard FileManager.default.fileExists(atPath: successorPath) else { return nil }
        do { return try IdentityFile.load(from: successorPath) } catch { throw UserError(error.description) }
    }

    /// The key this directory moves to after its identity forked: the pending one, or a new one
    /// written to `identity.next` (0600, on disk before it signs anything).
    public func prepareSuccessor() throws -> SigningKeyPair {
        if let pending = try pendingSuccessor() { return pending }
        do { return try IdentityFile.create(at: successorPath) } catch { throw UserError(error.description) }
    }

    /// Makes the successor this directory's identity: keeps the old key as
    /// `identity.retired-<first 12 hex digits of its id>` (0600), then renames `identity.next`
    /// over `identity`, which is atomic: a crash leaves either identity whole.
    public func commitSuccessor(retiring old: SigningKeyPair) throws {
        let retired = path + "/identity.retired-" + String(old.publicKey.hex.prefix(12))
        do { _ = try IdentityFile.create(at: retired, keyPair: old) } catch {
            if case .alreadyExists = error {} else { throw UserError(error.description) }
        }
        guard rename(successorPath, identityPath) == 0 else {
            throw UserError("cannot move \(successorPath) to \(identityPath): \(String(cString: strerror(errno)))")
        }
        let dir = open(path, O_RDONLY)
        if dir >= 0 { _ = fsync(dir); close(dir) }
    }

    public func loadNetworkKey(file: String?) throws -> [UInt8] { try Self.readNetworkKey(path: file ?? networkKeyPath) }

    public static func readNetworkKey(path: String) throws -> [UInt8] {
        let text: String
        do { text = try IdentityFile.readSecret(at: path) } catch {
            if case .notFound = error { throw UserError("no network key at \(path); copy the network's key there (mode 0600) or create one with `gossip-node network-key > \(path)`") }
            throw UserError(error.description)
        }
        guard let k = Bytes32(hex: text.trimming()) else {
            throw UserError("\(path) does not hold a network key (expected one line of 64 hex characters)")
        }
        return k.bytes
    }

    /// Takes the directory's lock for the life of the process; fails if a node already runs here.
    public func lock() throws -> Int32 {
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else { throw UserError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw UserError("a gossip-node is already running on \(path); stop it first (or use another --data directory)")
        }
        return fd
    }

    /// True when a node holds this directory's lock.
    public var isRunning: Bool {
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return true
    }
}

/// Closes a store from synchronous code (used right after creating it).
func await_close(_ store: LogStore) {
    let done = DispatchSemaphore(value: 0)
    Task { await store.close(); done.signal() }
    done.wait()
}

/// The 32-byte secret every member of one network shares.
public enum NetworkKey {
    public static func generateHex() -> String { Bytes32(Sodium.randomBytes(32))!.hex }
}

/// This machine's host name.
public func machineHostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
    return String(cString: buffer)
}

/// An address of this machine peers can reach: a tailnet address (100.64.0.0/10) first, then
/// any other non-loopback IPv4, else 127.0.0.1.
public func reachableLocalAddress() -> String {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0, let first = list else { return "127.0.0.1" }
    defer { freeifaddrs(list) }
    var candidates: [String] = []
    var p: UnsafeMutablePointer<ifaddrs>? = first
    while let cur = p {
        if let sa = cur.pointee.ifa_addr, sa.pointee.sa_family == UInt16(AF_INET) {
            var host = [CChar](repeating: 0, count: 64)
            if getnameinfo(sa, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 {
                let ip = String(cString: host)
                if !ip.hasPrefix("127.") { candidates.append(ip) }
            }
        }
        p = cur.pointee.ifa_next
    }
    func isTailnet(_ ip: String) -> Bool {
        let parts = ip.split(separator: ".").compactMap { Int($0) }
        return parts.count == 4 && parts[0] == 100 && (64...127).contains(parts[1])
    }
    return candidates.first(where: isTailnet) ?? candidates.first ?? "127.0.0.1"
}
