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

    // Hostile input (issue 13): nothing outside --out, nothing at all on exit 2.

    @Test func nulInTheProfileNameExits2AndTouchesNothing() async throws {
        let (dir, path) = try Self.write("name: \"x\\0y\"\nphases:\n  - duration: 2s\n    rate: 10\n    size: 64\n")
        let r = try await Harness.run(["run", path, "--out", "\(dir)/out"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(path):1:7: name: the name holds a control character"), "\(r.stderr)")
        #expect(r.runFolder == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["broken.yaml"], "no out/, no out/x, no latest")
    }

    @Test func dotDotInTheProfileNameStaysInsideOut() async throws {
        let (dir, path) = try Self.write("name: \"../../escaped\"\nphases:\n  - duration: 1s\n    rate: 20\n    size: 64\n")
        let out = "\(dir)/a/b/out"
        let r = try await Harness.run(["run", path, "--out", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let folder = try #require(r.runFolder)
        #expect(folder.hasPrefix("\(out)/escaped-"), "\(folder)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(out)/latest") == (folder as NSString).lastPathComponent)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/a").sorted() == ["b"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a", "broken.yaml"])
        // The reports keep the name as written.
        #expect(try r.summary()["profile"] as? String == "../../escaped")

        let check = try await Harness.run(["check", path])
        #expect(check.status == 0)
        #expect(check.stdout.contains("warning: the profile name '../../escaped' is not a safe folder name: run folders will be named 'escaped-<start time>'"), "\(check.stdout)")
    }

    @Test func outUnderARegularFileSaysWhyPlainlyAndTouchesNothing() async throws {
        let (dir, path) = try Self.write("name: t\nphases:\n  - duration: 1s\n    rate: 10\n    size: 64\n")
        try "x".write(toFile: "\(dir)/afile", atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", path, "--out", "\(dir)/afile/reports"])
        #expect(r.status == 2)
        #expect(r.stderr == "rpmsg-soak: --out \(dir)/afile/reports: cannot create a run folder there: \(dir)/afile is a file, not a folder\n", "\(r.stderr)")
        // Missing parents made for --out are removed again when the run cannot start.
        let long = String(repeating: "n", count: 300)
        let deep = try await Harness.run(["run", path, "--out", "\(dir)/new/deeper/\(long)/x"])
        #expect(deep.status == 2)
        #expect(deep.stderr.contains("File name too long"), "\(deep.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["afile", "broken.yaml"])
    }

    @Test func yamlWithANulByteNamesFileLineColumn() async throws {
        let (dir, path) = try Self.write("name: t\nphases:\n  - duration: 1s\n    rate: 10\n    size: 64\n  \u{0}\n")
        let r = try await Harness.run(["check", path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(path):6:3: invalid YAML: a NUL byte is not allowed in a YAML file"), "\(r.stderr)")
        _ = dir
    }

    @Test func impossibleValuesAreErrorsBeforeAnythingIsTouched() async throws {
        for (text, place) in [("report_interval: 1ns\n", "2:18: report_interval: 1ns is too short: at least 100ms"),
                              ("criteria:\n  min_echoed: 9223372036854775808\n", "3:15: criteria.min_echoed: 9223372036854775808 is out of range"),
                              ("recovery:\n  probe_timeout: 1ns\n", "3:18: recovery.probe_timeout: 1ns is too short: at least 10ms")] {
            let (dir, path) = try Self.write("name: t\n" + text + "phases:\n  - duration: 1s\n    rate: 10\n    size: 64\n    burst: {count: 2, every: 500ms}\n")
            let r = try await Harness.run(["run", path, "--out", "\(dir)/out"])
            #expect(r.status == 2)
            #expect(r.stderr.contains("\(path):\(place)"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/out"))
        }
        let (dir, board) = try Self.write("name: s\nlink:\n  device: sim\nsimulator:\n  uart_baud: 0\n")
        let r = try await Harness.run(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", "\(dir)/out"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(board):5:14: simulator.uart_baud: 0 is not a standard baud rate"), "\(r.stderr)")
    }
}
