import Foundation
import Testing

/// Broken input stops before any device is touched, with file:line:column and the key.
struct ConfigErrorTests {
    static func write(_ text: String) throws -> (dir: String, path: String) {
        let dir = Harness.tempDir()
        let path = "\(dir)/broken.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return (dir, path)
    }

    @Test func brokenProfileExits2NamingFileLineColumnAndKey() async throws {
        let (dir, path) = try Self.write("""
        name: broken
        phases:
          - name: one
            duration: 5s
            rate: 0
            size: 64
        """)
        let r = try await Harness.run(["run", path, "--out", dir])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(path):5:11: phases[0].rate:"), "\(r.stderr)")
        #expect(r.runFolder == nil, "nothing was started")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir))?.count == 1, "no run folder written")
    }

    @Test func unknownKeyIsAnErrorNotIgnored() async throws {
        let (dir, path) = try Self.write("""
        name: typo
        phases:
          - duration: 5s
            rate: 10
            size: 64
            windw: 4
        """)
        let r = try await Harness.run(["check", path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(path):6:5: phases[0].windw: unknown key"), "\(r.stderr)")
        _ = dir
    }

    @Test func brokenBoardFileExits2() async throws {
        let (dir, board) = try Self.write("name: b\nlink:\n  device: ttyRPMSG30\n")
        let r = try await Harness.run(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(board):3:11: link.device:"), "\(r.stderr)")
    }

    @Test func checkValidatesWithoutOpeningTheDevice() async throws {
        let dir = Harness.tempDir()
        let board = try Harness.writeBoard(device: "/dev/ttyRPMSG30-does-not-exist", in: dir)
        let r = try await Harness.run(["check", Harness.packageRoot.appendingPathComponent("profiles/overnight.yaml").path, "--board", board])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("12h"), "\(r.stdout)")
    }

    @Test func everyShippedProfileAndBoardIsValid() async throws {
        let root = Harness.packageRoot.appendingPathComponent("profiles").path
        let profiles = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasSuffix(".yaml") }
        let boards = try FileManager.default.contentsOfDirectory(atPath: "\(root)/boards").filter { $0.hasSuffix(".yaml") }
        #expect(profiles.count >= 3 && boards.count >= 3)
        for p in profiles {
            for b in boards {
                // --offline: the files only; a lab board's host is not on this machine's network.
                let r = try await Harness.run(["check", "\(root)/\(p)", "--board", "\(root)/boards/\(b)", "--offline"])
                #expect(r.status == 0, "\(p) with \(b): \(r.stderr)")
            }
        }
    }

    @Test func unknownOptionIsAUsageErrorExit2() async throws {
        let r = try await Harness.run(["run", "--no-such-option"])
        #expect(r.status == 2)
    }
}
