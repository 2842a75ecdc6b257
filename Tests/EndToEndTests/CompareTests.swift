import Foundation
import Testing

/// `rpmsg-soak compare` and `run --baseline` over real runs of the built-in simulator: 5 s each,
/// at a fixed rate (so messages/s is mostly the schedule's, not the machine's), with a gate wide enough
/// that a busy machine does not flip it and a latency fault of half a second still does.
@Suite struct CompareTests {
    static let profile = """
        name: gate-e2e
        report_interval: 1s
        link: {hang_timeout: 3s, loss_timeout: 1s, drain_timeout: 1s}
        phases:
          - {name: steady, duration: 5s, rate: 50, size: 64, window: 8}
        # min_rate_ratio off: the latency fault holds echoes back and the rate falls; the gate judges that.
        criteria: {latency_p99: 2s, min_echoed: 50, min_rate_ratio: 0}
        gate:
          latency_p99: +300%
          latency_max: off
          latency_floor: 100ms
          messages_per_second: -60%
          failure_rate: p<0.05
          new_findings: warn

        """

    static func write(_ root: String) throws -> String {
        let path = "\(root)/gate.yaml"
        try profile.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func soak(_ profile: String, seed: Int, out: String, extra: [String] = []) async throws -> Harness.Result {
        try await Harness.run(["run", profile, "--seed", "\(seed)", "--out", out, "--quiet"] + extra)
    }

    @Test func twoCleanRunsOfDifferentSeedsPassTheGate() async throws {
        let root = Harness.tempDir()
        let profile = try Self.write(root)
        async let a = Self.soak(profile, seed: 1, out: "\(root)/a")
        async let b = Self.soak(profile, seed: 2, out: "\(root)/b")
        let (ra, rb) = try await (a, b)
        #expect(ra.status == 0 && rb.status == 0, "\(ra.stdout)\(ra.stderr)\n\(rb.stdout)\(rb.stderr)")
        let fa = try #require(ra.runFolder), fb = try #require(rb.runFolder)

        let out = "\(root)/cmp"
        let c = try await Harness.run(["compare", fa, fb, "--out", out])
        #expect(c.status == 0, "\(c.stdout)\n\(c.stderr)")
        #expect(c.stdout.hasPrefix("rpmsg-soak compare: PASSED"), "\(c.stdout)")
        #expect(c.stdout.contains("steady: latency_p99") && c.stdout.contains("failure_rate"), "\(c.stdout)")
        for file in ["compare.json", "compare.md", "junit.xml"] {
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(file)"), "\(file)")
        }
        let problem = try Harness.junitSchemaProblem("\(out)/junit.xml")
        #expect(problem == nil, "\(problem ?? "")")
        let xml = try String(contentsOfFile: "\(out)/junit.xml", encoding: .utf8)
        for name in ["gate.latency_p99", "gate.messages_per_second", "gate.failure_rate", "gate.new_findings",
                     "gate.phase.steady.latency_p99"] {
            #expect(xml.contains("name=\"\(name)\""), "\(name)")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/compare.json"))) as? [String: Any])
        #expect(json["schema"] as? String == "rpmsg-soak/compare/1" && json["verdict"] as? String == "passed")

        // A summary.json compares as its run folder does.
        let s = try await Harness.run(["compare", "\(fa)/summary.json", fb])
        #expect(s.status == 0, "\(s.stdout)\n\(s.stderr)")

        // A flag overrides the profile's gate: no latency growth at all, no floor. Two different
        // seeds never have the same p99 and max to the microsecond, so something moves.
        let strict = try await Harness.run(["compare", fa, fb, "--latency-max", "+0%", "--latency-floor", "0us",
                                            "--messages-per-second", "-60%"])
        let strictReverse = try await Harness.run(["compare", fb, fa, "--latency-max", "+0%", "--latency-floor", "0us"])
        #expect(strict.status == 1 || strictReverse.status == 1, "\(strict.stdout)\n\(strictReverse.stdout)")

        // Usage errors: exit 2, the path or flag named.
        let missing = try await Harness.run(["compare", "\(root)/nowhere", fb])
        #expect(missing.status == 2 && missing.stderr.contains("\(root)/nowhere: no such file or folder"), "\(missing.stderr)")
        let badFlag = try await Harness.run(["compare", fa, fb, "--latency-p99", "20%"])
        #expect(badFlag.status == 2 && badFlag.stderr.contains("--latency-p99: expected a signed percentage"), "\(badFlag.stderr)")
        let badBaseline = try await Harness.run(["run", profile, "--baseline", "\(root)/nowhere", "--out", "\(root)/x"])
        #expect(badBaseline.status == 2 && badBaseline.stderr.contains("--baseline: \(root)/nowhere"), "\(badBaseline.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/x"), "nothing is run on a bad baseline")
    }

    @Test func aLatencyFaultAgainstACleanBaselineFailsTheGateNamingLatency() async throws {
        let root = Harness.tempDir()
        let profile = try Self.write(root)
        let clean = try await Self.soak(profile, seed: 3, out: "\(root)/clean")
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        let baseline = try #require(clean.runFolder)

        // Echoes held back for 600 ms about once a second: p99 goes from milliseconds to over half a second.
        let board = "\(root)/slow.yaml"
        try "name: sim-slow\nlink: {device: sim}\nsimulator:\n  faults:\n    - {kind: latency, mtbf: 1s, spike: 600ms}\n"
            .write(toFile: board, atomically: true, encoding: .utf8)
        let slow = try await Self.soak(profile, seed: 3, out: "\(root)/slow", extra: ["--board", board, "--baseline", baseline])
        #expect(slow.status == 1, "\(slow.stdout)\n\(slow.stderr)")
        #expect(slow.stdout.contains("rpmsg-soak compare: REGRESSED") && slow.stdout.contains("gate.latency_p99"), "\(slow.stdout)")
        let folder = try #require(slow.runFolder)
        // The run itself passed its own criteria (p99 under 2 s): the gate alone failed it.
        #expect(try slow.summary()["verdict"] as? String == "passed")
        #expect(FileManager.default.fileExists(atPath: "\(folder)/compare.json") && FileManager.default.fileExists(atPath: "\(folder)/compare.md"))
        let problem = try Harness.junitSchemaProblem("\(folder)/junit.xml")
        #expect(problem == nil, "\(problem ?? "")")
        let xml = try String(contentsOfFile: "\(folder)/junit.xml", encoding: .utf8)
        #expect(xml.contains("<testsuite name=\"rpmsg-soak.gate-e2e\"") && xml.contains("<testsuite name=\"rpmsg-soak.gate\""))
        #expect(xml.contains("name=\"gate.latency_p99\" time=\"0.000\">\n      <failure type=\"regression\""), "\(xml)")

        // compare says the same of the two folders.
        let c = try await Harness.run(["compare", baseline, folder])
        #expect(c.status == 1 && c.stdout.contains("gate.latency_p99"), "\(c.stdout)\n\(c.stderr)")
    }
}
