import Foundation
import Testing
import Wire
@testable import CRDTLog

@Suite("Identity file")
struct IdentityTests {
    @Test func createsWithMode0600AndLoadsBack() throws {
        let path = Fixtures.tempDir() + "/identity"
        let kp = try IdentityFile.create(at: path)
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(try IdentityFile.load(from: path).publicKey == kp.publicKey)
    }

    @Test func refusesToOverwrite() throws {
        let path = Fixtures.tempDir() + "/identity"
        _ = try IdentityFile.create(at: path)
        #expect(throws: IdentityError.alreadyExists(path: path)) { try IdentityFile.create(at: path) }
    }

    @Test func refusesAFileOthersCanRead() throws {
        let path = Fixtures.tempDir() + "/identity"
        _ = try IdentityFile.create(at: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: IdentityError.tooOpen(path: path, mode: 0o644)) { try IdentityFile.load(from: path) }
    }

    @Test func reportsMissingAndCorruptFiles() throws {
        let dir = Fixtures.tempDir()
        #expect(throws: IdentityError.notFound(path: dir + "/nope")) { try IdentityFile.load(from: dir + "/nope") }
        try IdentityFile.writeSecret(Array("not a key\n".utf8), to: dir + "/bad")
        #expect(throws: IdentityError.corrupt(path: dir + "/bad")) { try IdentityFile.load(from: dir + "/bad") }
    }
}
