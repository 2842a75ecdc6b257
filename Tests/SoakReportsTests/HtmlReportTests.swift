import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

@Suite("HtmlReport")
struct HtmlReportTests {
    static let uartLine = "[M7] rx <script>&\"boom\"</script>\u{07}"
    static let diagnosis = "hang: no echo for 3s; kick timeout on vq 1 72 ms after the last echo; UART silent since 3.1 s before: core halted or clock-gated"

    /// The fixture run with a hang at 14 s (diagnosis and a hostile UART line as evidence), a
    /// firmware finding quoting that line, and a power cycle at 16 s that brought the link back.
    static func failingRun() -> [Event] {
        var events = Fixture.run(end: Fixture.runEnd(20, .completed, totals: Fixture.finalTotals))
        var finding = Fixture.event(13.5, .finding, "firmware-assert")
        finding.finding = Finding(rule: "firmware-assert", findingClass: "firmware-assert", severity: .error, action: .record,
                                  source: .uart, explanation: "the M7 firmware asserted", line: uartLine, details: nil)
        var hang = Fixture.event(14, .hang, "no echo for 3s")
        hang.failure = LinkFailure(kind: .hang, reason: "no echo for 3s while 4 message(s) were in flight", outstanding: 4,
                                   lostBeforeFailure: 0, lastSeqSent: 1_500, sinceLastEcho: 3, messagesSinceStart: 1_500,
                                   evidence: Evidence(frames: [], lines: [Evidence.Line(source: .uart, offset: -0.5, text: uartLine)],
                                                      diagnosis: diagnosis))
        var failedStep = Fixture.event(14.5, .recovery, "reopen: did not help")
        failedStep.recovery = RecoveryRecord(step: .reopen, outcome: .failed, seconds: 0.4, detail: "probe not echoed")
        var recovered = Fixture.event(16, .recovery, "power-cycle: link back")
        recovered.recovery = RecoveryRecord(step: .powerCycle, outcome: .succeeded, seconds: 1.5, detail: "probe echoed")
        events.insert(contentsOf: [finding, hang, failedStep, recovered], at: 5)
        return events
    }

    static func render(_ events: [Event]) throws -> String {
        HtmlReport.render(try SummaryBuilder.build(events: events), events: events)
    }

    static func svgCount(_ html: String) -> Int { html.components(separatedBy: "<svg").count - 1 }

    /// What xmllint says about the page, as HTML (HTML5 and SVG tags unknown to libxml2's HTML 4
    /// parser are left out: they are vocabulary, not structure) and as XML (strict well-formedness).
    static func xmllintProblems(_ html: String) throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/xmllint") else { return nil }
        let file = try Fixture.temporaryDirectory() + "/report.html"
        try Data(html.utf8).write(to: URL(fileURLWithPath: file))
        let (_, asHtml) = try run("/usr/bin/xmllint", ["--html", "--noout", file], outputPath: file + ".html.out")
        var problems = asHtml.split(separator: "\n")
            .filter { $0.contains("error") && $0.range(of: #"Tag [a-zA-Z]+ invalid"#, options: .regularExpression) == nil }
            .map { "as HTML: \($0)" }
        let (status, asXml) = try run("/usr/bin/xmllint", ["--noout", file], outputPath: file + ".xml.out")
        if status != 0 || !asXml.isEmpty { problems.append("as XML, exit \(status): \(asXml)") }
        return problems.joined(separator: "\n")
    }

    static func run(_ tool: String, _ args: [String], outputPath: String) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        // A file, not a pipe: a pipe's write end can leak into a process another test spawns.
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let out = FileHandle(forWritingAtPath: outputPath)
        p.standardOutput = out
        p.standardError = out
        try p.run()
        p.waitUntilExit()
        try out?.close()
        return (p.terminationStatus, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    @Test("a passing run: verdict, criteria, three charts, no link failure, well-formed")
    func passing() throws {
        let html = try Self.render(Fixture.run())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<meta charset=\"utf-8\"/>"))
        #expect(html.contains(">PASSED</span>"))
        #expect(html.contains("profiles/smoke.yaml"))
        #expect(html.contains("bench-host"))
        #expect(html.contains("<td>latency_p99</td>"))
        #expect(!html.contains("class=\"fail\""))
        #expect(Self.svgCount(html) == 3)
        #expect(html.contains("No link failure"))
        #expect(!html.contains("Time to failure"))
        #expect(!html.contains("<script"), "no JavaScript")
        let outside = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        for link in ["http:", "https:", "src=", "href=", "url("] { #expect(!outside.contains(link), "nothing fetched: \(link)") }
        if let problems = try Self.xmllintProblems(html) { #expect(problems.isEmpty, "\(problems)") }
    }

    @Test("failed criteria: FAILED and each failed criterion named in a failing row")
    func failedCriteria() throws {
        var events = Fixture.run(end: Fixture.runEnd(20, .completed, totals: Fixture.counters(sent: 3_000, echoed: 2_999, lost: 1)))
        events[5] = Fixture.interval(20, phase: "steady", totals: Fixture.counters(sent: 3_000, echoed: 2_999, lost: 1),
                                     latency: [(500, 1_500), (30_000, 499)])
        let s = try SummaryBuilder.build(events: events)
        let failed = s.criteria.filter { !$0.passed }.map(\.name)
        #expect(Set(failed) == ["lost", "latency_p99"])
        let html = HtmlReport.render(s, events: events)
        #expect(html.contains(">FAILED</span>"))
        for name in failed {
            #expect(html.contains("<tr class=\"fail\"><td>\(name)</td>"), "\(name)")
        }
        #expect(html.contains("<tr class=\"pass\"><td>out_of_order</td>"))
    }

    @Test("a link failure: diagnosis, recovery step, red and green marks, the time-to-failure chart")
    func linkFailure() throws {
        let html = try Self.render(Self.failingRun())
        #expect(html.contains(Markup.escape(Self.diagnosis)))
        #expect(html.contains("reopen did not help (probe not echoed); back by power-cycle after 2.0 s"))
        #expect(Self.svgCount(html) == 4)
        #expect(html.contains("Time to failure of each link cycle"))
        #expect(html.contains("MTBF 18.0 s"))
        // A red line with the reason on both time charts, a green one where the link came back.
        #expect(html.components(separatedBy: "stroke=\"#d32f2f\" stroke-width=\"1.5\"><title>hang at 14.000 s (").count - 1 == 2)
        #expect(html.components(separatedBy: "stroke=\"#2e7d32\" stroke-width=\"1.5\"><title>link back at 16.000 s by power-cycle, link down 2.0 s").count - 1 == 2)
        #expect(html.contains("no echo for 3s while 4 message(s) were in flight"))
        if let problems = try Self.xmllintProblems(html) { #expect(problems.isEmpty, "\(problems)") }
    }

    @Test("UART text from the hardware is escaped, never raw")
    func escaping() throws {
        let html = try Self.render(Self.failingRun())
        #expect(!html.contains("<script"))
        #expect(!html.contains("\u{07}"))
        #expect(html.contains("[M7] rx &lt;script&gt;&amp;&quot;boom&quot;&lt;/script&gt;\u{FFFD}"))
        // Once in the findings table, once among the failure's evidence lines.
        #expect(html.components(separatedBy: "&lt;script&gt;&amp;&quot;boom").count - 1 == 2)
        #expect(Markup.escape("a'b\r\u{0}\u{85}\u{FFFF}") == "a&#39;b\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}")
    }

    @Test("the latency chart shows each interval's p50, p99 and max")
    func latencyPoints() throws {
        var events = Fixture.run()
        events[2] = Fixture.interval(10, phase: "warmup", totals: Fixture.firstTotals, latency: [(1_000, 1_000)])
        let html = try Self.render(events)
        #expect(html.contains("0.000 s to 10.000 s: p50 1000 µs, p99 1000 µs, max 1000 µs, 1000 echoes"))
        // The second interval: 1900 at 500 us, 100 at 9000 us: p99 is the slow bucket.
        let slow = try #require(Fixture.buckets([(9_000, 1)]).pairs.first?.first)
        #expect(html.contains("10.000 s to 20.000 s: p50 500 µs, p99 \(slow) µs, max \(slow) µs, 2000 echoes"))
        #expect(html.contains("0.000 s to 10.000 s: 1000 echoed, 100.0/s"))
        #expect(html.contains("2000 echoed, 200.0/s"))
    }

    @Test("the short snapshots at phase boundaries neither break the lines nor draw a rate spike")
    func shortIntervals() throws {
        func snapshot(_ t: Double, seconds: Double, echoed: UInt64, latency: [(UInt64, UInt64)]) -> Event {
            var e = Fixture.event(t, .interval)
            e.interval = IntervalSnapshot(phase: "warmup", seconds: seconds, totals: Fixture.counters(sent: echoed, echoed: echoed),
                                          outstanding: 0, latencyMicros: Fixture.buckets(latency), anomaliesNotListed: 0)
            return e
        }
        let events = [
            Fixture.runStart(), Fixture.phaseStart(0, 0, "warmup"),
            snapshot(10, seconds: 10, echoed: 1_000, latency: [(500, 1_000)]),
            snapshot(10, seconds: 0, echoed: 1_000, latency: []),
            snapshot(10.01, seconds: 0.01, echoed: 1_005, latency: [(700, 5)]),
            Fixture.phaseStart(10.01, 1, "steady"),
            snapshot(20, seconds: 9.99, echoed: 2_000, latency: [(600, 995)]),
            Fixture.runEnd(20, .completed, totals: Fixture.counters(sent: 2_000, echoed: 2_000)),
        ]
        let html = try Self.render(events)
        let rate = try #require(html.components(separatedBy: "<title>echoed messages per second</title>").first?
            .components(separatedBy: "<path class=\"series\" d=\"").last)
        #expect(rate.prefix { $0 != "\"" }.filter { $0 == "M" }.count == 1, "one unbroken line")
        #expect(!html.contains("500.0/s"), "5 echoes in 10 ms are not a rate")
        #expect(html.contains("0.000 s to 10.000 s: 1000 echoed, 100.0/s"))
        #expect(html.contains("10.000 s to 20.000 s: 1000 echoed, 100.0/s"))
    }

    @Test("50,000 intervals: under 1 MB, at most 2000 points a line, a single spike's max stays visible")
    func downsampling() throws {
        let profile = Fixture.profile(Fixture.profileText.replacingOccurrences(of: "report_interval: 10s", with: "report_interval: 1s"))
        var events = [Fixture.runStart(profile: profile), Fixture.phaseStart(0, 0, "warmup")]
        let count = 50_000
        let spikeAt = 31_337
        events.reserveCapacity(count + 3)
        let quiet = Fixture.buckets([(800, 90), (1_200, 10)])
        let spiky = Fixture.buckets([(800, 90), (1_200, 9), (250_000, 1)])
        for i in 1...count {
            var e = Fixture.event(Double(i), .interval)
            e.interval = IntervalSnapshot(phase: "warmup", seconds: 1, totals: Fixture.counters(sent: UInt64(i) * 100, echoed: UInt64(i) * 100),
                                          outstanding: 0, latencyMicros: i == spikeAt ? spiky : quiet, anomaliesNotListed: 0)
            events.append(e)
        }
        events.append(Fixture.runEnd(Double(count), .completed, totals: Fixture.counters(sent: UInt64(count) * 100, echoed: UInt64(count) * 100)))
        let html = try Self.render(events)
        #expect(html.utf8.count < 1_000_000, "\(html.utf8.count) bytes (about 260 kB)")
        let spike = try #require(spiky.pairs.last?.first)
        #expect(html.contains("max \(spike) µs"), "the spike's tooltip")
        #expect(html.contains(">1 s</text>"), "the latency axis reaches the spike")
        for path in html.components(separatedBy: "<path class=\"series\" d=\"").dropFirst() {
            let d = path.prefix { $0 != "\"" }
            #expect(d.filter { $0 == "L" }.count < TimeSeries.maxPoints)
        }
        // The max line climbs to the spike at one point and stays at 1.2 ms elsewhere.
        let maxPath = try #require(html.components(separatedBy: "<title>max round trip per interval</title>").first?
            .components(separatedBy: "<path class=\"series\" d=\"").last)
        let ys = maxPath.prefix { $0 != "\"" }.split(whereSeparator: { $0 == "M" || $0 == "L" }).compactMap { Double($0.split(separator: " ").last ?? "") }
        #expect(ys.count == 2000)
        #expect(ys.filter { $0 < 100 }.count == 1, "one point, the spike's, far above the others")
        #expect(html.contains("50000 intervals drawn as 2000 points of 25 intervals each"))
    }

    @Test("a run that ended before its first interval: ERROR, the reason, no chart")
    func noInterval() throws {
        let events = [Fixture.runStart(), Fixture.runEnd(0.2, .infrastructure, totals: Counters(), detail: "no /dev/ttyRPMSG30 <after 5s>")]
        let html = try Self.render(events)
        #expect(html.contains(">ERROR</span>"))
        #expect(html.contains("infrastructure: no /dev/ttyRPMSG30 &lt;after 5s&gt;"))
        #expect(Self.svgCount(html) == 0)
        #expect(html.contains("No interval snapshot on the timeline"))
        #expect(html.contains("No echo: no round-trip latency."))
        if let problems = try Self.xmllintProblems(html) { #expect(problems.isEmpty, "\(problems)") }
    }

    @Test("interrupted and incomplete runs say so and still chart what they have")
    func interrupted() throws {
        let stopped = try Self.render(Fixture.run(end: Fixture.runEnd(20, .interrupted, totals: Fixture.finalTotals, detail: "stopped by a signal")))
        #expect(stopped.contains(">INTERRUPTED</span>"))
        #expect(stopped.contains("interrupted: stopped by a signal"))
        #expect(Self.svgCount(stopped) == 3)
        let crashed = try Self.render(Fixture.run(end: nil))
        #expect(crashed.contains(">INCOMPLETE</span>"))
        #expect(crashed.contains("without run_end"))
        #expect(Self.svgCount(crashed) == 3)
    }

    @Test("findings past 200 are counted, not listed")
    func manyFindings() throws {
        var events = Fixture.run()
        let findings = (0..<250).map { i -> Event in
            var e = Fixture.event(11 + Double(i) / 100, .finding)
            e.finding = Finding(rule: "rpmsg-send-failed", findingClass: "rpmsg-send-failed", severity: .warning, action: .record,
                                source: .kernel, explanation: "send failed", line: "rpmsg_send failed #\(i)", details: nil)
            return e
        }
        events.insert(contentsOf: findings, at: 4)
        let html = try Self.render(events)
        #expect(html.contains("rpmsg_send failed #199"))
        #expect(!html.contains("rpmsg_send failed #200"))
        #expect(html.contains("The first 200 of 250 findings; 50 left out"))
        #expect(html.contains("<td>rpmsg-send-failed</td><td class=\"num\">250</td>"))
    }
}
