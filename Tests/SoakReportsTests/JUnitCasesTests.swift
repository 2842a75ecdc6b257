import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// The JUnit cases CI tracks from run to run: the same names whatever the seed, the duration
/// and the outcome; the limits and observed values in the failure and system-out only.
@Suite("JUnit cases")
struct JUnitCasesTests {
    static let names = JUnitReportTests.fixtureCaseNames

    /// A run of Fixture's profile with another seed and length: 35 s, 2 s snapshots.
    static func otherRun(seed: UInt64) -> [Event] {
        var profile = Fixture.profile()
        profile.seed = seed
        var start = Fixture.runStart(profile: profile)
        start.run?.seed = seed
        return [
            start,
            Fixture.phaseStart(0, 0, "warmup"),
            Fixture.interval(2, phase: "warmup", totals: Fixture.counters(sent: 150, echoed: 150), latency: [(700, 150)]),
            Fixture.phaseStart(17.5, 1, "steady"),
            Fixture.interval(35, phase: "steady", totals: Fixture.counters(sent: 9_000, echoed: 9_000), latency: [(650, 8_850)]),
            Fixture.runEnd(35, .completed, totals: Fixture.counters(sent: 9_000, echoed: 9_000)),
        ]
    }

    static func hang(_ t: Double, lines: Int, kind: LinkFailure.Kind = .hang) -> Event {
        var e = Fixture.event(t, kind == .linkLost ? .linkLost : .hang, "no echo")
        let evidence = Evidence(frames: [.init(seq: 41, length: 64, sentAgo: 3.2, state: "unanswered", latencyMicros: nil)],
                                lines: (0..<lines).map { .init(source: $0 % 2 == 0 ? .uart : .kernel, offset: -Double(lines - $0) / 100, text: "line \($0)") },
                                diagnosis: "hang: no echo for 3s; UART silent since 3.1 s before: core halted or clock-gated")
        e.failure = LinkFailure(kind: kind, reason: "no echo for 3s", outstanding: 1, lostBeforeFailure: 0, lastSeqSent: 41,
                                sinceLastEcho: 3, messagesSinceStart: 1_041, evidence: evidence)
        return e
    }

    static func finding(_ t: Double, _ c: String, _ source: SourceLine.Source, action: Rule.Action, severity: Rule.Severity = .error) -> Event {
        var e = Fixture.event(t, .finding, c)
        e.finding = Finding(rule: c, findingClass: c, severity: severity, action: action, source: source,
                            explanation: "\(c) explained", line: "the \(c) line", details: nil)
        return e
    }

    @Test("runs with other seeds, lengths and outcomes have the same case names, none with a number that varies")
    func stableNames() throws {
        var linkFailed = Array(Fixture.run(end: nil).prefix(3))   // warmup only, then the link hangs
        linkFailed.append(Self.hang(9, lines: 3))
        linkFailed.append(Fixture.runEnd(9.5, .linkFailed, totals: Fixture.firstTotals, detail: "no echo"))
        let timelines: [[Event]] = [
            Fixture.run(),
            Self.otherRun(seed: 7),
            Fixture.run(end: Fixture.runEnd(20, .completed, totals: Fixture.counters(sent: 3_000, echoed: 2_990, lost: 10))),
            linkFailed,
            Fixture.run(end: Fixture.runEnd(20, .interrupted, totals: Fixture.finalTotals, detail: "SIGINT")),
            Fixture.run(end: nil),
        ]
        var seen: [[String]] = []
        for events in timelines {
            let s = try SummaryBuilder.build(events: events)
            let names = JUnitReport.cases(s).map(\.name)
            seen.append(names)
            for n in names { #expect(n.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }, "\(n)") }
            #expect(!names.contains { $0.contains { $0.isNumber } }, "\(names)")
            #expect(LavaTestCases.calls(s).prefix(names.count).map(\.[0]) == names, "LAVA names are the JUnit names")
        }
        for names in seen { #expect(names == Self.names) }
    }

    @Test("a phase the link failure kept the run from is skipped, and the run did not complete")
    func notReached() throws {
        var events = Array(Fixture.run(end: nil).prefix(3))
        events.append(Self.hang(9, lines: 3))
        events.append(Fixture.runEnd(9.5, .linkFailed, totals: Fixture.firstTotals, detail: "no echo"))
        let s = try SummaryBuilder.build(events: events)
        let cases = Dictionary(uniqueKeysWithValues: JUnitReport.cases(s).map { ($0.name, $0) })
        #expect(cases["steady.integrity"]?.outcome == .skipped)
        #expect(cases["steady.latency"]?.outcome == .skipped)
        #expect(cases["warmup.integrity"]?.outcome == .passed)
        #expect(cases["run.completes"]?.outcome == .failed)
        #expect(cases["run.completes"]?.type == "link_failed")
        let hangs = try #require(cases["link.hangs"])
        #expect(hangs.outcome == .failed && hangs.type == "hang")
        #expect(hangs.message.contains("core halted or clock-gated"))
        #expect(hangs.detail.contains("diagnosis: hang: no echo for 3s"))
        #expect(hangs.detail.contains("seq 41 64 B"))
        #expect(LavaTestCases.calls(s).first { $0[0] == "steady.latency" }?[2] == "skip")
        let xml = JUnitReport.render(s)
        #expect(try JUnitReportTests().validate(xml).status == 0)
        #expect(xml.contains("skipped=\"2\""))
    }

    @Test("a phase name is sanitised to [A-Za-z0-9_.-], and names sanitised alike are told apart")
    func sanitisedPhaseNames() throws {
        let text = Fixture.profileText.replacingOccurrences(of: "name: warmup", with: "name: \"warm up/µs\"")
            .replacingOccurrences(of: "name: steady", with: "name: \"warm_up_µs\"")
        var events = Fixture.run()
        events[0] = Fixture.runStart(profile: Fixture.profile(text))
        let s = try SummaryBuilder.build(events: events)
        let names = JUnitReport.cases(s).map(\.name)
        #expect(names.contains("warm_up__s.integrity") && names.contains("warm_up__s-2.latency"), "\(names)")
        #expect(JUnitReport.sanitisedPhase("") == "phase")
    }

    @Test("latency: the run's limit failed is blamed on the phase above it; the limit and value are in message and system-out")
    func latencyPerPhase() throws {
        var events = Fixture.run()
        events[5] = Fixture.interval(20, phase: "steady", totals: Fixture.finalTotals, latency: [(500, 1_900), (40_000, 100)])
        let s = try SummaryBuilder.build(events: events)
        #expect(s.verdict == .failed)
        let cases = Dictionary(uniqueKeysWithValues: JUnitReport.cases(s).map { ($0.name, $0) })
        let steady = try #require(cases["steady.latency"])
        #expect(steady.outcome == .failed && steady.type == "latency_p99")
        #expect(steady.message.contains("limit <= 20ms"), "\(steady.message)")
        #expect(steady.out.contains("latency_p99: this phase"), "\(steady.out)")
        #expect(steady.out.contains("latency_max: no limit in the profile"), "\(steady.out)")
        #expect(cases["warmup.latency"]?.outcome == .passed)
        #expect(cases["warmup.latency"]?.out.contains("p99") == true)
        #expect(JUnitReport.cases(s).filter { !$0.passed }.map(\.name) == ["steady.latency"])
    }

    @Test("findings split by source: the kernel's and the firmware's, each failure typed by its class")
    func findingsBySource() throws {
        var events = Fixture.run()
        events.insert(Self.finding(5, "kernel-oops", .kernel, action: .fail), at: 3)
        events.insert(Self.finding(6, "firmware-assert", .uart, action: .record, severity: .fatal), at: 4)
        events.insert(Self.finding(7, "tty-installed", .kernel, action: .record, severity: .info), at: 5)
        let s = try SummaryBuilder.build(events: events)
        let cases = Dictionary(uniqueKeysWithValues: JUnitReport.cases(s).map { ($0.name, $0) })
        let kernel = try #require(cases["findings.kernel"])
        #expect(kernel.outcome == .failed && kernel.type == "kernel-oops")
        #expect(kernel.message == "1 finding(s) fail the run: kernel-oops x1")
        #expect(kernel.detail.contains("the kernel-oops line"))
        #expect(kernel.out.contains("tty-installed x1"))
        let firmware = try #require(cases["findings.firmware"])
        #expect(firmware.outcome == .failed && firmware.type == "firmware-assert")
        #expect(!firmware.out.contains("kernel-oops"))
    }

    @Test("a link failure's type is its class; its UART and kernel lines go to the suite's system-out, cut at 200")
    func linkFailureLines() throws {
        var events = Fixture.run()
        events.insert(Self.finding(14.9, "mailbox-kick-timeout", .kernel, action: .recover, severity: .fatal), at: 4)
        events.insert(Self.hang(15, lines: 150, kind: .finding), at: 5)
        events.insert(Self.hang(17, lines: 120, kind: .linkLost), at: 6)
        let s = try SummaryBuilder.build(events: events)
        let cases = Dictionary(uniqueKeysWithValues: JUnitReport.cases(s).map { ($0.name, $0) })
        #expect(cases["link.hangs"]?.outcome == .failed)
        #expect(cases["link.hangs"]?.type == "mailbox-kick-timeout")
        #expect(cases["link.hangups"]?.type == "link_lost")
        #expect(cases["findings.kernel"]?.passed == true, "a recover finding is a link failure, not a failing finding")
        let xml = JUnitReport.render(s)
        #expect(try JUnitReportTests().validate(xml).status == 0)
        #expect(xml.contains("mailbox-kick-timeout at 15.000 s"))
        #expect(xml.contains("link_lost at 17.000 s"))
        #expect(xml.contains("... 70 more line(s) cut at 200"), "\(xml.suffix(3000))")
        let shown = try NSRegularExpression(pattern: #"[+-]\d\.\d{3} (uart|kernel) line \d+"#)
        #expect(shown.numberOfMatches(in: xml, range: NSRange(xml.startIndex..., in: xml)) == 200)
    }

    @Test("the firmware banner and kernel version on the timeline are properties of the suite")
    func boardProperties() throws {
        var events = Fixture.run()
        for (key, value) in [(BoardSeen.Key.firmware, "RPMSG String Echo FreeRTOS RTOS API Demo..."), (.kernel, "6.6.23-lts")] {
            var e = Fixture.event(0.5, .source, "\(key.rawValue): \(value)")
            e.seen = BoardSeen(key: key, value: value)
            events.insert(e, at: 1)
        }
        let s = try SummaryBuilder.build(events: events)
        #expect(s.firmwareBanner == "RPMSG String Echo FreeRTOS RTOS API Demo...")
        #expect(s.kernelVersion == "6.6.23-lts")
        let xml = JUnitReport.render(s)
        #expect(xml.contains(#"<property name="firmware_banner" value="RPMSG String Echo FreeRTOS RTOS API Demo..."/>"#))
        #expect(xml.contains(#"<property name="kernel_version" value="6.6.23-lts"/>"#))
        #expect(try JUnitReportTests().validate(xml).status == 0)
        // Not in summary.json: its schema is unchanged.
        let json = String(decoding: try JSONEncoder().encode(s), as: UTF8.self)
        #expect(!json.contains("6.6.23-lts") && !json.contains("plannedPhases"))
    }

    /// junitparser, a JUnit consumer CI tools use, from the checkout's .test-venv (scripts/setup).
    static let venvPython: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".test-venv/bin/python3").path

    static func junitparserAvailable() -> Bool {
        guard FileManager.default.isExecutableFile(atPath: venvPython) else { return false }
        return (try? JUnitParser.run(["-c", "import junitparser"]).status) == 0
    }

    @Test("junitparser reads the file: suite counts, case names and results", .enabled(if: junitparserAvailable()))
    func junitparser() throws {
        var events = Array(Fixture.run(end: nil).prefix(3))
        events.append(Self.hang(9, lines: 3))
        events.append(Fixture.runEnd(9.5, .linkFailed, totals: Fixture.firstTotals, detail: "no echo"))
        let s = try SummaryBuilder.build(events: events)
        let file = try Fixture.temporaryDirectory() + "/junit.xml"
        try Data(JUnitReport.render(s).utf8).write(to: URL(fileURLWithPath: file))
        let r = try JUnitParser.run(["-c", JUnitParser.script, file])
        #expect(r.status == 0, "\(r.output)")
        let lines = r.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "suite rpmsg-soak.smoke tests=11 failures=2 errors=0 skipped=2", "\(r.output)")
        let expected = Self.names.map { n -> String in
            let result = ["run.completes", "link.hangs"].contains(n) ? "failure" : n.hasPrefix("steady.") ? "skipped" : "passed"
            return "case \(n) \(result)"
        }
        #expect(Array(lines.dropFirst()) == expected, "\(r.output)")
    }
}

/// Runs junitparser over a junit.xml: one line per suite with its counts, then one per case.
enum JUnitParser {
    static let script = """
    import sys
    from junitparser import JUnitXml, Failure, Error, Skipped
    xml = JUnitXml.fromfile(sys.argv[1])
    for suite in xml:
        print(f"suite {suite.name} tests={suite.tests} failures={suite.failures} errors={suite.errors} skipped={suite.skipped}")
        for case in suite:
            kinds = [type(r).__name__.lower() for r in case.result]
            print(f"case {case.name} {kinds[0] if kinds else 'passed'}")
    """

    static func run(_ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: JUnitCasesTests.venvPython)
        p.arguments = args
        let outPath = try Fixture.temporaryDirectory() + "/junitparser.out"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let out = FileHandle(forWritingAtPath: outPath)
        p.standardOutput = out
        p.standardError = out
        try p.run()
        p.waitUntilExit()
        try out?.close()
        return (p.terminationStatus, (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")
    }
}
