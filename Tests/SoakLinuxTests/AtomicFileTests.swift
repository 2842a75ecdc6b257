import Foundation
import Glibc
import SoakLinux
import Testing

/// The `--metrics` file: replaced whole, never seen half written, no temporary file left.
struct AtomicFileTests {
    static func directory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func aWriteReplacesTheFileWholeAndLeavesNothingBeside() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = AtomicFile(path: "\(dir)/soak.prom")
        try file.write("first\n")
        // A reader holding the old file keeps reading the old content: the new one is another inode.
        let reader = open("\(dir)/soak.prom", O_RDONLY)
        defer { close(reader) }
        try file.write(String(repeating: "second\n", count: 2_000))
        #expect(try String(contentsOfFile: "\(dir)/soak.prom", encoding: .utf8) == String(repeating: "second\n", count: 2_000))
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(reader, &buffer, buffer.count)
        #expect(String(decoding: buffer[..<max(n, 0)], as: UTF8.self) == "first\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["soak.prom"])
        let mode = try FileManager.default.attributesOfItem(atPath: "\(dir)/soak.prom")[.posixPermissions] as? Int
        #expect(mode == 0o644)
    }

    @Test func aWriteThatCannotBeDoneSaysWhyAndKeepsThePreviousFile() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: AtomicFile.Failure.self) { try AtomicFile(path: "\(dir)/gone/soak.prom").write("x") }
        do {
            try AtomicFile(path: "\(dir)/gone/soak.prom").write("x")
        } catch {
            #expect(error.description.hasPrefix("cannot create \(dir)/gone/.soak.prom."), "\(error)")
            #expect(error.description.hasSuffix("No such file or directory (ENOENT)"), "\(error)")
        }
        // A directory where the file should be: the rename fails, the temporary file goes.
        try FileManager.default.createDirectory(atPath: "\(dir)/taken.prom/x", withIntermediateDirectories: true)
        #expect(throws: AtomicFile.Failure.self) { try AtomicFile(path: "\(dir)/taken.prom").write("x") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["taken.prom"])
    }
}
