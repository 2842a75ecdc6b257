import Foundation
import Testing

/// `rpmsg-soak merge` over real run folders: four short soaks on simulated boards whose M7 halts
/// every 2 s on average (each recovered by a power cycle), run side by side as a CI matrix would,
/// one --out folder per board, then merged.
@Suite struct MergeTests {
    /// One board's run: 8 s of the recovery profile on `board`, with `seed`, into its own folder.
    static func soak(board: String, seed: Int, root: String) async throws -> (Harness.Result, String) {
        let dir = "\(root)/\(board)-\(seed)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let profile = "\(dir)/recovery.yaml"
        try String(contentsOfFile: Harness.fixture("recovery.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "duration: 12s", with: "duration: 8s")
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let boardFile = "\(dir)/board.yaml"
        try "name: \(board)\nlink: {device: sim}\nsimulator:\n  uart_baud: 4000000\n  faults:\n    - {kind: kick-halt, mtbf: 2s}\n"
            .write(toFile: boardFile, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", profile, "--board", boardFile, "--seed", "\(seed)", "--out", "\(dir)/reports", "--quiet"])
        return (r, "\(dir)/reports")
    }

    static func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    @Test func fourBoardsMergeIntoOneFleetWithTheMtbfPooled() async throws {
        let root = Harness.tempDir()
        async let a = Self.soak(board: "sim-a", seed: 11, root: root)
        async let b = Self.soak(board: "sim-b", seed: 12, root: root)
        async let c = Self.soak(board: "sim-c", seed: 13, root: root)
        async let d = Self.soak(board: "sim-c", seed: 14, root: root)
        let runs = try await [a, b, c, d]
        for (r, _) in runs { #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)") }
        let summaries = try runs.map { try $0.0.summary() }
        let folders = try runs.map { try #require($0.0.runFolder) }

        // Each --out folder holds its run and `latest`: the run counts once. The glob is the shell's job, done here.
        let out = "\(root)/fleet"
        let m = try await Harness.run(["merge", "\(root)/sim-*/reports", "--out", out])
        #expect(m.status == 0, "\(m.stdout)\n\(m.stderr)")
        #expect(m.stdout.hasPrefix("rpmsg-soak fleet of 4 runs on 3 boards (recovery): PASSED (all 4 runs passed)"), "\(m.stdout)")
        #expect(m.stdout.contains("pooled over 4 runs: "), "\(m.stdout)")

        let fleet = try Self.json("\(out)/summary.json")
        #expect(fleet["schema"] as? String == "rpmsg-soak/fleet/1")
        #expect(fleet["run_count"] as? Int == 4)
        let groups = try #require(fleet["groups"] as? [[String: Any]])
        #expect(groups.count == 1)
        let pooled = try #require(groups[0]["reliability"] as? [String: Any])
        let own = try summaries.map { try #require($0["reliability"] as? [String: Any]) }

        // The pooled numbers are the sums of the runs' own summary.json.
        let uptime = own.reduce(0.0) { $0 + ($1["uptime_seconds"] as? Double ?? 0) }
        let failures = own.reduce(0) { $0 + ($1["failures"] as? Int ?? 0) }
        let sent = try summaries.reduce(0) { $0 + (try #require(($1["totals"] as? [String: Int])?["sent"])) }
        #expect(failures >= 4, "kick halts every 2 s over 4 x 8 s: \(own.map { $0["failures"] ?? "?" })")
        #expect(abs((pooled["uptime_seconds"] as? Double ?? 0) - uptime) < 1e-6)
        #expect(pooled["failures"] as? Int == failures)
        #expect(abs((pooled["mtbf_seconds"] as? Double ?? 0) - uptime / Double(failures)) < 1e-6)
        #expect(abs((pooled["failures_per_million_messages"] as? Double ?? 0) - Double(failures) / Double(sent) * 1e6) < 1e-6)
        #expect((fleet["totals"] as? [String: Int])?["sent"] == sent)
        #expect((pooled["time_to_failure_seconds"] as? [Double])?.count == failures)

        // Narrower than each run's own interval (unbounded for a run with no failure).
        let lower = try #require(pooled["mtbf_lower95"] as? Double)
        let upper = try #require(pooled["mtbf_upper95"] as? Double)
        for (i, r) in own.enumerated() {
            let width = (r["mtbf_upper95"] as? Double ?? .infinity) - (r["mtbf_lower95"] as? Double ?? 0)
            #expect(upper - lower < width, "run \(folders[i]): pooled \(lower)-\(upper) against its own \(r)")
        }

        // JUnit: a suite per run, valid; the board that ran twice is told apart by its folder.
        let problem = try Harness.junitSchemaProblem("\(out)/junit.xml")
        #expect(problem == nil, "\(problem ?? "")")
        let xml = try String(contentsOfFile: "\(out)/junit.xml", encoding: .utf8)
        #expect(xml.components(separatedBy: "<testsuite ").count - 1 == 4)
        #expect(xml.contains("<testsuite name=\"sim-a\"") && xml.contains("<testsuite name=\"sim-b\""))
        for folder in folders[2...] {
            let name = URL(fileURLWithPath: folder).lastPathComponent
            #expect(xml.contains("<testsuite name=\"sim-c (\(name))\""), "\(name)")
        }
        let md = try String(contentsOfFile: "\(out)/report.md", encoding: .utf8)
        #expect(md.contains("| **all 4** |") && md.contains("Pooled over 4 runs: "))
        let html = try String(contentsOfFile: "\(out)/report.html", encoding: .utf8)
        #expect(html.contains("<svg") && !html.contains("<script"))

        // Naming the runs and `latest` too changes nothing: each run still counts once.
        let twice = try await Harness.run(["merge"] + folders + runs.map { "\($0.1)/latest" } + ["--out", "\(root)/fleet2"])
        #expect(twice.status == 0, "\(twice.stderr)")
        #expect(try Self.json("\(root)/fleet2/summary.json")["run_count"] as? Int == 4)

        // A run of another profile: refused, then grouped with --mixed.
        let other = "\(root)/other/smoke-run"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        var lines = try String(contentsOfFile: "\(folders[0])/events.jsonl", encoding: .utf8).components(separatedBy: "\n")
        lines[0] = lines[0].replacingOccurrences(of: "\"name\":\"recovery\"", with: "\"name\":\"smoke\"")
        try lines.joined(separator: "\n").write(toFile: "\(other)/events.jsonl", atomically: true, encoding: .utf8)
        let refused = try await Harness.run(["merge", "\(root)/sim-*/reports", "\(root)/other", "--out", "\(root)/fleet3"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("runs of different profiles: recovery (4 runs), smoke (1 run); give --mixed to report them grouped by profile"),
                "\(refused.stderr)")
        let mixed = try await Harness.run(["merge", "\(root)/sim-*/reports", "\(root)/other", "--out", "\(root)/fleet3", "--mixed"])
        #expect(mixed.status == 0, "\(mixed.stderr)")
        let groupsMixed = try #require(try Self.json("\(root)/fleet3/summary.json")["groups"] as? [[String: Any]])
        #expect(groupsMixed.map { $0["profile"] as? String } == ["recovery", "smoke"])
    }

    @Test func anEmptyFolderIsAUsageError() async throws {
        let root = Harness.tempDir()
        try FileManager.default.createDirectory(atPath: "\(root)/empty", withIntermediateDirectories: true)
        let r = try await Harness.run(["merge", "\(root)/empty", "--out", "\(root)/fleet"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("rpmsg-soak merge: no run folders found in \(root)/empty (a run folder holds events.jsonl"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/fleet"), "nothing written")

        let bad = "\(root)/bad"
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        try "garbage\n".write(toFile: "\(bad)/events.jsonl", atomically: true, encoding: .utf8)
        let unreadable = try await Harness.run(["merge", bad, "--out", "\(root)/fleet"])
        #expect(unreadable.status == 2)
        #expect(unreadable.stderr.contains("\(bad)/events.jsonl"), "\(unreadable.stderr)")
    }
}
