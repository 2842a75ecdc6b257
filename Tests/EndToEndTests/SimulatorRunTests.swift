import Foundation
import Testing

/// The built binary against the built-in simulated board (a real pty behind it).
/// Not serialized: how many binaries run at once is bounded for the whole suite by Harness.slots.
@Suite struct SimulatorRunTests {
    @Test func shortSoakOnTheSimulatorPassesAndWritesEveryReport() async throws {
        let out = Harness.tempDir()
        let r = try await Harness.run(["run", Harness.fixture("short.yaml"), "--out", out])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let folder = try #require(r.runFolder)
        for file in ["events.jsonl", "summary.json", "junit.xml", "report.txt", "report.md", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: "\(folder)/\(file)"), "missing \(file)")
        }
        let summary = try r.summary()
        #expect(summary["verdict"] as? String == "passed")
        let totals = try r.totals()
        #expect(totals["sent"] == totals["echoed"])
        #expect((totals["echoed"] ?? 0) >= 40)
        for key in ["lost", "corrupted", "duplicated", "out_of_order", "unanswered"] {
            #expect(totals[key] == 0, "\(key)")
        }
        let latency = try #require(summary["latency_micros"] as? [String: Any])
        // The simulated M7 prints each message at 115200 baud before echoing it: about 8 ms for
        // a 64-byte message, so a round trip below 1 ms means the UART cost is not modelled.
        #expect((latency["p50"] as? Int ?? 0) > 1000)
        #expect(try Harness.junitSchemaProblem("\(folder)/junit.xml") == nil)
        #expect(FileManager.default.fileExists(atPath: "\(out)/latest/summary.json"))
        // Phases settle before the next starts: each echo is counted in its own message's phase.
        let phases = try #require(summary["phases"] as? [[String: Any]])
        #expect(phases.map { $0["name"] as? String } == ["ping-pong", "bursts"])
        for p in phases {
            let t = try #require(p["totals"] as? [String: Int])
            #expect(t["sent"] == t["echoed"] && (t["sent"] ?? 0) > 0, "\(p["name"] ?? ""): \(t)")
        }
    }

    @Test func reportRebuildsTheSameSummaryFromTheTimeline() async throws {
        let out = Harness.tempDir()
        let r = try await Harness.run(["run", Harness.fixture("short.yaml"), "--out", out, "--quiet"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let folder = try #require(r.runFolder)
        let original = try r.summary()
        for file in ["summary.json", "junit.xml", "report.txt"] { try FileManager.default.removeItem(atPath: "\(folder)/\(file)") }
        let rebuilt = try await Harness.run(["report", folder])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        let again = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/summary.json"))) as? [String: Any])
        #expect(again["totals"] as? [String: Int] == original["totals"] as? [String: Int])
        #expect(again["verdict"] as? String == "passed")
        #expect(try Harness.junitSchemaProblem("\(folder)/junit.xml") == nil)
    }

    @Test func aCrashMidRunLeavesATimelineThatReportTurnsIntoReports() async throws {
        let out = Harness.tempDir()
        let p = try await Harness.start(["run", Harness.fixture("short.yaml"), "--out", out])
        defer { Harness.kill9(p) }
        // Killed once two snapshots are on the timeline (about 2 s into the run), however long
        // the binary took to start: no chance to write anything more.
        let killed = try await Harness.whenUnderWay(p, intervals: 2) { _ = kill(p.processIdentifier, SIGKILL) }
        try #require(killed != nil, "the run did not get under way")
        let r = await Harness.finish(p)
        let folder = try #require(r.runFolder)
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/summary.json"))
        // A torn last line, as a kill in the middle of a write leaves it.
        let handle = try #require(FileHandle(forWritingAtPath: "\(folder)/events.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data("{\"t\":2.6,\"type\":\"inter".utf8))
        try handle.close()

        let rebuilt = try await Harness.run(["report", folder])
        #expect(rebuilt.status == 1, "an unfinished run is not a pass: \(rebuilt.stdout)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/summary.json"))) as? [String: Any])
        #expect(summary["verdict"] as? String == "incomplete")
        let totals = try #require(summary["totals"] as? [String: Int])
        #expect((totals["echoed"] ?? 0) > 10, "counts up to the last snapshot are kept")
        let warnings = (summary["warnings"] as? [String] ?? []).joined(separator: "\n")
        #expect(warnings.contains("incomplete"))
        #expect(try Harness.junitSchemaProblem("\(folder)/junit.xml") == nil)
    }

    @Test func sigtermEndsTheRunWith130AndStillWritesReports() async throws {
        let out = Harness.tempDir()
        let p = try await Harness.start(["run", Harness.fixture("short.yaml"), "--out", out])
        defer { Harness.kill9(p) }
        // Mid-run: once the first snapshot is on the timeline, however long the binary took to start.
        let terminated = try await Harness.whenUnderWay(p, intervals: 1) { p.terminate() }
        try #require(terminated != nil, "the run did not get under way")
        let r = await Harness.finish(p)
        #expect(r.status == 130, "\(r.stdout)\n\(r.stderr)")
        #expect(try r.summary()["verdict"] as? String == "interrupted")
        #expect(try Harness.junitSchemaProblem("\(try #require(r.runFolder))/junit.xml") == nil)
        // Every message sent is accounted for: what was in flight at the signal is unanswered.
        let t = try r.totals()
        #expect(t["sent"] == (t["echoed"] ?? 0) + (t["lost"] ?? 0) + (t["unanswered"] ?? 0), "\(t)")
    }
}

/// The tty driver as a module: the tty exists only after the board file's setup command.
@Suite(.serialized) struct ModprobeBoardTests {
    @Test func theTtyAppearsOnlyAfterTheSetupCommand() async throws {
        let dir = Harness.tempDir()
        let profile = "\(dir)/p.yaml"
        try String(contentsOfFile: Harness.fixture("short.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "  drain_timeout: 2s", with: "  drain_timeout: 2s\n  open_timeout: 1s")
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let withSetup = Harness.packageRoot.appendingPathComponent("profiles/boards/sim-modprobe.yaml").path
        let ok = try await Harness.run(["run", profile, "--board", withSetup, "--out", dir])
        #expect(ok.status == 0, "\(ok.stdout)\n\(ok.stderr)")

        let withoutSetup = "\(dir)/no-setup.yaml"
        try "name: no-setup\nlink:\n  device: sim\nsimulator:\n  tty_needs_modprobe: true\n"
            .write(toFile: withoutSetup, atomically: true, encoding: .utf8)
        let missing = try await Harness.run(["run", profile, "--board", withoutSetup, "--out", dir])
        #expect(missing.status == 3, "\(missing.stdout)\n\(missing.stderr)")
        #expect(missing.stderr.contains("did not boot") || missing.stdout.contains("did not boot"), "\(missing.stdout)")
    }
}
