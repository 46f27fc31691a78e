#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Wire

/// Why an identity file could not be created or loaded, with what to do about it.
public enum IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    case alreadyExists(path: String)
    case notFound(path: String)
    case tooOpen(path: String, mode: UInt32)
    case unreadable(path: String, reason: String)
    case corrupt(path: String)

    public var description: String {
        switch self {
        case .alreadyExists(let p): "an identity already exists at \(p); refusing to overwrite it (use another --data directory)"
        case .notFound(let p): "no identity at \(p); run `gossip-node init --data DIR` first"
        case .tooOpen(let p, let mode): "\(p) is readable by others (mode \(String(mode, radix: 8))); run `chmod 600 \(p)`"
        case .unreadable(let p, let reason): "cannot read or write \(p): \(reason)"
        case .corrupt(let p): "\(p) does not hold a valid secret key (expected 64 hex characters)"
        }
    }
}

/// Reads and writes the node's secret key: one line with the 32-byte Ed25519 seed in hex,
/// in a file of mode 0600 that is refused when group or others can read it.
public enum IdentityFile {
    /// Writes a new key pair to `path`, failing if the file exists.
    public static func create(at path: String, keyPair: SigningKeyPair = .generate()) throws(IdentityError) -> SigningKeyPair {
        try writeSecret(Array((Bytes32(keyPair.seed)!.hex + "\n").utf8), to: path)
        return keyPair
    }

    /// Loads the key pair at `path`.
    public static func load(from path: String) throws(IdentityError) -> SigningKeyPair {
        let text = try readSecret(at: path)
        guard let seed = Bytes32(hex: text.trimmingWhitespace()), let kp = try? SigningKeyPair(seed: seed.bytes) else {
            throw .corrupt(path: path)
        }
        return kp
    }

    /// Creates `path` with mode 0600 and `bytes`, never overwriting.
    public static func writeSecret(_ bytes: [UInt8], to path: String) throws(IdentityError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 {
            if errno == EEXIST { throw .alreadyExists(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Reads a secret file, refusing it when group or others have any access.
    public static func readSecret(at path: String) throws(IdentityError) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT { throw .notFound(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        let mode = UInt32(st.st_mode) & 0o777
        guard mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: mode) }
        guard let f = fopen(path, "r") else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(f) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = fread(&buffer, 1, buffer.count, f)
        return String(decoding: buffer[..<n], as: UTF8.self)
    }
}

extension String {
    func trimmingWhitespace() -> Substring {
        var s = self[...]
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return s
    }
}
