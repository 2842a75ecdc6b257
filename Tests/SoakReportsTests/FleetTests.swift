import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// The fleet report: many boards' runs, their verdicts as one, the reliability pooled.
@Suite("Fleet")
struct FleetTests {
    /// A night on `board`: `failures` link failures spread so that the link is up `uptime`
    /// seconds in all, each recovered by a power cycle of 1 s (not uptime), the last cycle
    /// failure-free (censored). Cycle length c = uptime / (failures + 1). Hangs are allowed, as in
    /// a recovery profile: the run passes.
    static func night(board: String, profile: String = "overnight", uptime: Double, failures: Int, sent: UInt64,
                      end reason: RunEnd.Reason? = .completed) -> [Event] {
        var p = Fixture.profile()
        p.name = profile
        p.criteria.maxHangs = 1_000  // recovered hangs are the night's statistics, not a failure
        var start = Fixture.runStart(profile: p)
        start.run?.board.name = board
        start.run?.profilePath = "profiles/\(profile).yaml"
        let c = uptime / Double(failures + 1)
        let totals = Fixture.counters(sent: sent, echoed: sent)
        var events = [start, Fixture.phaseStart(0, 0, "steady")]
        for i in 1...max(failures, 1) where failures > 0 {
            let t = Double(i) * c + Double(i - 1)
            let before = sent * UInt64(i) / UInt64(failures + 1)
            var hang = Fixture.event(t, .hang, "no echo for 3s")
            hang.failure = LinkFailure(kind: .hang, reason: "no echo for 3s", outstanding: 1, lostBeforeFailure: 0,
                                       lastSeqSent: before, sinceLastEcho: 3, messagesSinceStart: before)
            var back = Fixture.event(t + 1, .recovery, "power-cycle: link back")
            back.recovery = RecoveryRecord(step: .powerCycle, outcome: .succeeded, seconds: 1, detail: "probe echoed")
            events += [hang, back]
        }
        let endT = uptime + Double(failures)
        events.append(Fixture.interval(endT, phase: "steady", totals: totals, latency: [(500, sent)]))
        if let reason { events.append(Fixture.runEnd(endT, reason, totals: totals)) }
        return events
    }

    static func input(_ events: [Event], folder: String) throws -> FleetInput {
        FleetInput(folder: "/runs/\(folder)", summary: try SummaryBuilder.build(events: events))
    }

    /// Four boards of one MTBF (about 33-42 s): 100 s/3, 200 s/5, 150 s/4, 250 s/6.
    static let boards: [(name: String, uptime: Double, failures: Int, sent: UInt64)] = [
        ("imx8mp-01", 100, 3, 10_000), ("imx8mp-02", 200, 5, 20_000), ("imx8mp-03", 150, 4, 15_000), ("imx8mp-04", 250, 6, 25_000),
    ]

    static func fleetInputs() throws -> [FleetInput] {
        try boards.enumerated().map { i, b in
            try input(night(board: b.name, uptime: b.uptime, failures: b.failures, sent: b.sent), folder: "overnight-2025061\(i)T020000")
        }
    }

    @Test("the pooled MTBF is total uptime over total failures, its interval that of the sums, narrower than each board's")
    func pooled() throws {
        let inputs = try Self.fleetInputs()
        for (input, b) in zip(inputs, Self.boards) {
            #expect(abs(input.summary.reliability.uptimeSeconds - b.uptime) < 1e-9, "the fixture: \(b.name) is up \(b.uptime) s")
            #expect(input.summary.reliability.failures == b.failures)
            #expect(input.summary.reliability.censoredLastCycleSeconds != nil, "each board's last cycle is censored")
        }
        let fleet = try FleetSummary.build(inputs)
        #expect(fleet.groups.count == 1)
        let r = fleet.groups[0].reliability
        // By hand: 100 + 200 + 150 + 250 = 700 s, 3 + 5 + 4 + 6 = 18 failures, 70 000 messages.
        #expect(r.uptimeSeconds == 700)
        #expect(r.failures == 18)
        #expect(abs((r.mtbfSeconds ?? 0) - 700.0 / 18.0) < 1e-9)
        let expected = Reliability.mtbfInterval(uptime: 700, failures: 18)
        #expect(r.mtbfLower95 == expected.lower)
        #expect(r.mtbfUpper95 == expected.upper)
        #expect(abs(r.failuresPerMillionMessages - 18.0 / 70_000 * 1e6) < 1e-9)
        #expect(r.timeToFailureSeconds.count == 18)
        #expect(r.recoveries == 18 && r.recoveredBy["power-cycle"] == 18)
        #expect(fleet.totals.sent == 70_000 && fleet.durationSeconds == 700 + 18)

        let pooledWidth = try #require(r.mtbfUpper95) - r.mtbfLower95
        for input in inputs {
            let own = input.summary.reliability
            let width = try #require(own.mtbfUpper95) - own.mtbfLower95
            #expect(pooledWidth < width, "\(input.summary.board): pooled \(pooledWidth) s against its own \(width) s")
            #expect(r.mtbfLower95 > own.mtbfLower95 || r.mtbfUpper95! < own.mtbfUpper95!)
        }
        #expect(r.mtbfLower95 < 700.0 / 18.0 && 700.0 / 18.0 < r.mtbfUpper95!)
    }

    @Test("the fleet verdict: every run passed; a failed run fails it; otherwise a run without a verdict makes it an error")
    func verdicts() throws {
        let passing = try Self.fleetInputs()
        let all = try FleetSummary.build(passing)
        #expect(all.verdict == .passed && all.verdictReason == "all 4 runs passed")
        #expect(all.verdict.exitCode == 0)

        let crashed = try Self.input(Self.night(board: "imx8mp-05", uptime: 50, failures: 1, sent: 5_000, end: nil), folder: "overnight-crashed")
        #expect(crashed.summary.verdict == .incomplete)
        let interrupted = try Self.input(Self.night(board: "imx8mp-06", uptime: 50, failures: 0, sent: 5_000, end: .interrupted), folder: "overnight-int")
        let error = try FleetSummary.build(passing + [crashed, interrupted])
        #expect(error.verdict == .error)
        #expect(error.verdictReason == "2 of 6 run(s) without a verdict: imx8mp-05 incomplete, imx8mp-06 interrupted")
        #expect(error.verdict.exitCode == 3)
        // The crashed run's uptime up to its last snapshot still counts in the pool.
        #expect(error.groups[0].reliability.uptimeSeconds == 800)

        let failed = try Self.input(Self.night(board: "imx8mp-07", uptime: 50, failures: 2, sent: 5_000, end: .linkFailed), folder: "overnight-failed")
        let worst = try FleetSummary.build(passing + [crashed, failed])
        #expect(worst.verdict == .failed)
        #expect(worst.verdictReason == "1 of 6 run(s) failed: imx8mp-07; 1 without a verdict: imx8mp-05 incomplete")
        #expect(worst.verdict.exitCode == 1)
    }

    @Test("runs of different profiles are refused unless mixed; mixed, each profile pools its own")
    func mixedProfiles() throws {
        let overnight = try Self.fleetInputs().prefix(3)
        let smoke = try Self.input(Self.night(board: "imx8mp-09", profile: "smoke", uptime: 40, failures: 1, sent: 4_000), folder: "smoke-1")
        #expect {
            try FleetSummary.build(Array(overnight) + [smoke])
        } throws: { error in
            "\(error)" == "runs of different profiles: overnight (3 runs), smoke (1 run); give --mixed to report them grouped by profile"
        }
        let fleet = try FleetSummary.build(Array(overnight) + [smoke], mixed: true)
        #expect(fleet.mixedProfiles)
        #expect(fleet.groups.map(\.profile) == ["overnight", "smoke"])
        #expect(fleet.groups[0].reliability.uptimeSeconds == 450 && fleet.groups[0].reliability.failures == 12)
        #expect(fleet.groups[1].reliability.uptimeSeconds == 40 && fleet.groups[1].reliability.failures == 1)
        #expect(fleet.groups[1].runs.map(\.name) == ["imx8mp-09"])
        let md = FleetMarkdown.render(fleet)
        #expect(md.contains("### Profile `overnight`") && md.contains("### Profile `smoke`"))
    }

    @Test("run names: the board, plus the run folder when the board ran twice")
    func names() throws {
        var inputs = try Self.fleetInputs()
        inputs.append(try Self.input(Self.night(board: "imx8mp-02", uptime: 30, failures: 0, sent: 3_000), folder: "overnight-20250620T020000"))
        #expect(FleetSummary.suiteNames(inputs) == [
            "imx8mp-01", "imx8mp-02 (overnight-20250611T020000)", "imx8mp-03", "imx8mp-04", "imx8mp-02 (overnight-20250620T020000)",
        ])
        #expect(FleetSummary.suiteNames(inputs) == FleetSummary.suiteNames(inputs), "stable")
    }

    @Test("junit.xml: a suite per run with that run's own cases, valid against junit-10.xsd")
    func junit() throws {
        var inputs = try Self.fleetInputs()
        inputs.append(try Self.input(Self.night(board: "imx8mp-02", uptime: 30, failures: 0, sent: 3_000, end: nil), folder: "overnight-crashed"))
        let xml = FleetJUnit.render(inputs)
        let (status, output) = try JUnitReportTests().validate(xml)
        #expect(status == 0, "\(output)")
        #expect(xml.components(separatedBy: "<testsuite ").count - 1 == 5)
        #expect(xml.contains("<testsuite name=\"imx8mp-01\""))
        #expect(xml.contains("<testsuite name=\"imx8mp-02 (overnight-crashed)\""))
        #expect(xml.contains("<property name=\"run_folder\" value=\"overnight-crashed\"/>"))
        #expect(xml.contains("<error type=\"incomplete\""))
        // The cases are JUnitReport's own for each run.
        let own = JUnitReport.testsuite(inputs[0].summary, name: "imx8mp-01", extraProperties: [("run_folder", inputs[0].folderName)])
        #expect(xml.contains(own.xml))
        let tests = inputs.reduce(0) { $0 + JUnitReport.testsuite($1.summary, name: "x").tests }
        #expect(xml.contains("<testsuites name=\"rpmsg-soak\" tests=\"\(tests)\""))
    }

    @Test("report.md and report.html: a row per run, the totals, the pooled MTBF, the findings with their boards")
    func formats() throws {
        var inputs = try Self.fleetInputs()
        var events = Self.night(board: "imx8mp-05 <&>", uptime: 60, failures: 1, sent: 6_000)
        var finding = Fixture.event(5, .finding, "firmware-assert")
        finding.finding = Finding(rule: "firmware-assert", findingClass: "firmware-assert", severity: .error, action: .fail,
                                  source: .uart, explanation: "the M7 firmware asserted", line: "ASSERT ERROR", details: nil)
        events.insert(finding, at: 2)
        inputs.append(try Self.input(events, folder: "overnight-5"))
        let fleet = try FleetSummary.build(inputs)
        #expect(fleet.verdict == .failed, "the finding fails that run")
        #expect(fleet.findings.first?.findingClass == "firmware-assert" && fleet.findings.first?.boards == ["imx8mp-05 <&>"])

        let md = FleetMarkdown.render(fleet)
        #expect(md.hasPrefix("## ❌ rpmsg-soak fleet of 5 runs on 5 boards (overnight): FAILED (1 of 5 run(s) failed: imx8mp-05 <&>)"))
        #expect(md.contains("| imx8mp-01 | overnight-20250610T020000 | overnight | passed | 103.0 s | 10000 | 10000 | 3 | 33.3 s (95%: "))
        #expect(md.contains("| **all 5** | | | | 779.0 s | 76000 | 76000 | 19 | 40.0 s (95%: "))
        #expect(md.contains("Pooled over 5 runs: 19 link failure(s) in 760.0 s of uptime, MTBF 40.0 s"))
        #expect(md.contains("| `firmware-assert` | 1 | imx8mp-05 <&> |"))

        let html = FleetHtml.render(fleet)
        #expect(html.contains("<span class=\"verdict v-failed\">FAILED</span>"))
        #expect(html.contains("imx8mp-05 &lt;&amp;&gt;"))
        #expect(html.contains("<svg"), "the time-to-failure chart")
        #expect(html.components(separatedBy: "<circle").count - 1 == 19 + 5, "a dot per failure and per censored last cycle")
        #expect(!html.contains("<script"), "self-contained")
        if let problems = try HtmlReportTests.xmllintProblems(html) { #expect(problems.isEmpty, "\(problems)") }

        let text = FleetText.terminal(fleet)
        #expect(text.hasPrefix("rpmsg-soak fleet of 5 runs on 5 boards (overnight): FAILED"))
        #expect(text.contains("pooled over 5 runs: 19 link failure(s) in 760.0 s of uptime, MTBF 40.0 s (95%: "))
    }

    @Test("run folders: a folder of runs with latest counts each run once; globs; an empty folder and a bad timeline are named")
    func folders() throws {
        let root = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reports = "\(root)/reports"
        for (i, b) in Self.boards.enumerated() {
            let dir = "\(reports)/overnight-2025061\(i)T020000"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let timeline = try TimelineWriter(path: "\(dir)/events.jsonl")
            Self.night(board: b.name, uptime: b.uptime, failures: b.failures, sent: b.sent).forEach(timeline.emit)
        }
        try FileManager.default.createSymbolicLink(atPath: "\(reports)/latest", withDestinationPath: "overnight-20250613T020000")
        try "not a run".write(toFile: "\(reports)/README.md", atomically: true, encoding: .utf8)

        let found = try FleetFolders.find([reports])
        #expect(found.map { URL(fileURLWithPath: $0).lastPathComponent } == (0..<4).map { "overnight-2025061\($0)T020000" })
        #expect(try FleetFolders.find([reports, "\(reports)/latest", "\(reports)/overnight-20250610T020000"]).count == 4)
        #expect(try FleetFolders.find(["\(reports)/overnight-*"]).count == 4)
        #expect(try FleetFolders.find(["\(reports)/latest"]).count == 1)
        let inputs = try FleetFolders.read(found)
        #expect(try FleetSummary.build(inputs).groups[0].reliability.uptimeSeconds == 700)

        let empty = "\(root)/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect { try FleetFolders.find([empty]) } throws: { "\($0)".hasPrefix("no run folders found in \(empty) (a run folder holds events.jsonl") }
        #expect { try FleetFolders.find(["\(root)/nothing-*"]) } throws: { "\($0)".contains("nothing-*: no file or folder matches") }

        let bad = "\(root)/bad"
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        try "{\"not\": \"an event\"}\n".write(toFile: "\(bad)/events.jsonl", atomically: true, encoding: .utf8)
        #expect { try FleetFolders.read([bad]) } throws: { "\($0)".contains("\(bad)/events.jsonl") }

        let out = "\(root)/fleet"
        let fleet = try FleetFolders.writeReports(inputs, mixed: false, directory: out)
        #expect(fleet.runCount == 4)
        for name in ["summary.json", "junit.xml", "report.md", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: "\(out)/\(name)"), "\(name)")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/summary.json"))) as? [String: Any])
        #expect(json["schema"] as? String == "rpmsg-soak/fleet/1")
        #expect(json["verdict"] as? String == "passed")
    }
}
