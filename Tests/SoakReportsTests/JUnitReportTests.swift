import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

@Suite("JUnitReport")
struct JUnitReportTests {
    static func schemaPath() throws -> String {
        if let p = Bundle.module.path(forResource: "junit-10", ofType: "xsd", inDirectory: "Fixtures") { return p }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "junit-10.xsd is not in the test bundle"])
    }

    /// Runs xmllint against the schema; returns its exit status and what it said.
    func validate(_ xml: String) throws -> (status: Int32, output: String) {
        let file = try Fixture.temporaryDirectory() + "/junit.xml"
        try Data(xml.utf8).write(to: URL(fileURLWithPath: file))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        p.arguments = ["--noout", "--schema", try Self.schemaPath(), file]
        // Output to a file, not a pipe: a pipe's write end can leak into a process another test
        // spawns at the same moment, and then EOF never comes.
        let outPath = file + ".out"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let out = FileHandle(forWritingAtPath: outPath)
        p.standardOutput = out
        p.standardError = out
        try p.run()
        p.waitUntilExit()
        try out?.close()
        return (p.terminationStatus, (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")
    }

    /// The cases of every run of Fixture's profile (phases warmup and steady), whatever happened.
    static let fixtureCaseNames = [
        "run.completes", "warmup.integrity", "warmup.latency", "warmup.rate", "steady.integrity", "steady.latency",
        "link.hangs", "link.hangups", "findings.kernel", "findings.firmware", "run.min_echoed",
    ]

    @Test("the schema is in the test bundle")
    func schemaInBundle() throws {
        #expect(FileManager.default.fileExists(atPath: try Self.schemaPath()))
    }

    @Test("a passing run validates against junit-10.xsd and has no failure")
    func passing() throws {
        let s = try SummaryBuilder.build(events: Fixture.run())
        #expect(s.verdict == .passed)
        let xml = JUnitReport.render(s)
        let r = try validate(xml)
        #expect(r.status == 0, "\(r.output)\n\(xml)")
        #expect(!xml.contains("<failure"))
        #expect(!xml.contains("<error"))
        #expect(xml.contains("failures=\"0\""))
        #expect(xml.contains("<property name=\"verdict\" value=\"passed\"/>"))
        #expect(xml.contains("tests=\"\(JUnitReport.cases(s).count)\""))
        #expect(JUnitReport.cases(s).map(\.name) == Self.fixtureCaseNames)
    }

    @Test("a failing run validates and carries a failure with the criterion message")
    func failing() throws {
        let totals = Fixture.counters(sent: 3_000, echoed: 2_999, lost: 1)
        let s = try SummaryBuilder.build(events: Fixture.run(end: Fixture.runEnd(20, .completed, totals: totals)))
        #expect(s.verdict == .failed)
        let xml = JUnitReport.render(s)
        let r = try validate(xml)
        #expect(r.status == 0, "\(r.output)\n\(xml)")
        let message = try #require(s.criteria.first { $0.name == "lost" }?.message)
        #expect(message.contains("1 messages lost"))
        // The run's loss is blamed on the phase that counted it, with the limit in the message.
        let steady = try #require(JUnitReport.cases(s).first { $0.name == "steady.integrity" })
        #expect(steady.outcome == .failed && steady.type == "lost")
        #expect(steady.message == "phase steady: 1 lost in this phase (the run: 1, limit <= 0)", "\(steady.message)")
        #expect(xml.contains("<failure type=\"lost\" message=\"phase steady: 1 lost in this phase (the run: 1, limit &lt;= 0)\">"), "\(xml)")
        #expect(JUnitReport.cases(s).filter { !$0.passed }.map(\.name) == ["steady.integrity"])
        #expect(xml.contains("failures=\"1\""))
    }

    @Test("incomplete, interrupted and infrastructure runs validate too")
    func otherVerdicts() throws {
        let runs: [(Event?, Verdict, String)] = [
            (nil, .incomplete, "<error type=\"incomplete\""),
            (Fixture.runEnd(20, .interrupted, totals: Fixture.finalTotals, detail: "stopped by a signal"), .interrupted, "<error type=\"interrupted\""),
            (Fixture.runEnd(20, .infrastructure, totals: Fixture.finalTotals, detail: "no /dev/ttyRPMSG30"), .error, "<error type=\"infrastructure\""),
        ]
        for (end, verdict, marker) in runs {
            let s = try SummaryBuilder.build(events: Fixture.run(end: end))
            #expect(s.verdict == verdict)
            let xml = JUnitReport.render(s)
            let r = try validate(xml)
            #expect(r.status == 0, "\(verdict): \(r.output)")
            #expect(xml.contains(marker), "\(verdict)")
        }
    }

    @Test("markup and control bytes in reasons are escaped and the report still validates")
    func escaping() throws {
        let nasty = "tty said <&>\"'\u{01}\u{1B}[0m done"
        var profile = Fixture.profile()
        profile.name = "odd <&> \"name\"\u{01}"
        var events = Fixture.run(end: Fixture.runEnd(20, .linkFailed, totals: Fixture.finalTotals, detail: nasty))
        events[0] = Fixture.runStart(profile: profile)
        var hang = Fixture.event(18, .hang, nasty)
        hang.failure = LinkFailure(kind: .hang, reason: nasty, outstanding: 1, lostBeforeFailure: 0, lastSeqSent: 2_999,
                                   sinceLastEcho: 5, messagesSinceStart: 3_000)
        events.insert(hang, at: 6)
        var warning = Fixture.event(19, .warning, "uart: \u{01}\u{02} garbage <b>")
        warning.message = "uart: \u{01}\u{02} garbage <b>"
        events.insert(warning, at: 7)

        let s = try SummaryBuilder.build(events: events)
        #expect(s.verdict == .failed)
        let xml = JUnitReport.render(s)
        let r = try validate(xml)
        #expect(r.status == 0, "\(r.output)\n\(xml)")
        #expect(!xml.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" })
        #expect(xml.contains("tty said &lt;&amp;&gt;&quot;&#39;\u{FFFD}\u{FFFD}[0m done\""), "\(xml)")
    }

    @Test("escape handles each special character")
    func escape() {
        #expect(Markup.escape("a<b>&\"c'\u{01}\td\ne") == "a&lt;b&gt;&amp;&quot;c&#39;\u{FFFD}\td\ne")
    }
}
