import Foundation
import TestSupport
import Testing

/// `run --resume` with the built binary on the built-in simulated board: a run killed with
/// SIGKILL mid-phase goes on in the same folder and ends with one report over both parts.
@Suite struct ResumeRunTests {
    @Test func aKilledRunGoesOnInItsFolderAndEndsWithOneReport() async throws {
        let dir = Harness.tempDir()
        try """
            name: resume-e2e
            report_interval: 1s
            phases:
              - {name: warm, duration: 3s, rate: 50, size: 64, window: 4}
              - {name: steady, duration: 4s, rate: 50, size: 96, window: 4}
            """.write(toFile: "\(dir)/p.yaml", atomically: true, encoding: .utf8)
        let first = try await Harness.start(["run", "\(dir)/p.yaml", "--out", "\(dir)/out"])
        defer { Harness.kill9(first) }
        let folder = try #require(try await Harness.whenUnderWay(first, intervals: 2) { kill(first.processIdentifier, SIGKILL) })
        _ = await Harness.finish(first)
        let before = try String(contentsOfFile: "\(folder)/events.jsonl", encoding: .utf8)
        #expect(!before.contains("\"type\":\"run_end\""))

        let r = try await Harness.run(["run", "--resume", folder])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.runFolder == folder)
        let events = try String(contentsOfFile: "\(folder)/events.jsonl", encoding: .utf8)
        #expect(events.components(separatedBy: "\"type\":\"run_start\"").count == 2, "one run_start")
        #expect(events.components(separatedBy: "\"type\":\"resumed\"").count == 2, "one resumed")
        #expect(events.components(separatedBy: "\"type\":\"run_end\"").count == 2, "one run_end")
        let summary = try r.summary()
        #expect(summary["verdict"] as? String == "passed")
        let phases = try #require(summary["phases"] as? [[String: Any]])
        #expect(phases.map { $0["name"] as? String } == ["warm", "steady"])
        let warnings = (summary["warnings"] as? [String] ?? []).joined(separator: "\n")
        #expect(warnings.contains("resumed (run --resume) after a gap of"), "\(warnings)")
        let totals = try r.totals()
        #expect((totals["sent"] ?? 0) >= 200, "both parts' messages: \(totals)")
        #expect(totals["lost"] == 0 && totals["corrupted"] == 0 && totals["duplicated"] == 0 && totals["out_of_order"] == 0)

        // The reports rebuilt from the timeline say the same.
        let rebuilt = try await Harness.run(["report", folder])
        #expect(rebuilt.status == 0, "\(rebuilt.stdout)\n\(rebuilt.stderr)")

        // A finished run has nothing to resume; a resumed run takes no profile.
        let again = try await Harness.run(["run", "--resume", folder])
        #expect(again.status == 2)
        #expect(again.stderr.contains("there is nothing to resume"), "\(again.stderr)")
        let withProfile = try await Harness.run(["run", "\(dir)/p.yaml", "--resume", folder])
        #expect(withProfile.status == 2)
        #expect(withProfile.stderr.contains("give no profile"), "\(withProfile.stderr)")
    }
}
