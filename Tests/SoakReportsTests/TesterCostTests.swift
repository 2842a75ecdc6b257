import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

@Suite("Tester's own cost")
struct TesterCostTests {
    static let stats = SelfStats(userSeconds: 12.3, systemSeconds: 4.5, voluntaryContextSwitches: 1520,
                                 involuntaryContextSwitches: 12, peakRssBytes: 19_293_798)

    static func run(stats: SelfStats?) -> [Event] {
        var end = Fixture.runEnd(20, .completed, totals: Fixture.finalTotals)
        end.end?.selfStats = stats
        return Fixture.run(end: end)
    }

    @Test("run_end's self stats become tester_cost: the share of one CPU over the run, and a line in every report")
    func inTheReports() throws {
        let s = try SummaryBuilder.build(events: Self.run(stats: Self.stats))
        let c = try #require(s.testerCost)
        #expect(c.userSeconds == 12.3 && c.systemSeconds == 4.5)
        #expect(abs(c.cpuShare - 16.8 / c.overSeconds) < 1e-9)
        #expect(c.peakRssBytes == 19_293_798 && c.voluntaryContextSwitches == 1520 && c.involuntaryContextSwitches == 12)
        let line = try #require(TextReport.testerCostLine(s))
        #expect(line.hasPrefix("the tester used "))
        #expect(line.contains("(user 12.3 s, system 4.5 s over "))
        #expect(line.contains("peak RSS 18.4 MiB"))
        #expect(TextReport.render(s).contains(line))
        #expect(MarkdownReport.render(s).contains("Tester's own cost: "))
        #expect(HtmlReport.render(s, events: Self.run(stats: Self.stats)).contains("Tester's own cost: the tester used "))

        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let json = String(decoding: try encoder.encode(s), as: UTF8.self)
        #expect(json.contains("\"tester_cost\""))
        #expect(json.contains("\"cpu_share\""))
    }

    @Test("a timeline without them (earlier versions, tests) has no tester_cost and no line")
    func absent() throws {
        let s = try SummaryBuilder.build(events: Self.run(stats: nil))
        #expect(s.testerCost == nil)
        #expect(TextReport.testerCostLine(s) == nil)
        #expect(!TextReport.render(s).contains("the tester used"))
    }

    @Test("the run_end event keeps them through the timeline's JSON")
    func roundTrip() throws {
        var e = Fixture.runEnd(20, .completed, totals: Fixture.finalTotals)
        e.end?.selfStats = Self.stats
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let back = try decoder.decode(Event.self, from: try encoder.encode(e))
        #expect(back.end?.selfStats == Self.stats)
    }

    @Test("WallTime.iso8601 gives ISO8601DateFormatter's string (milliseconds rounded as it rounds them)")
    func wallTime() {
        #expect(WallTime.iso8601(Date(timeIntervalSince1970: 1_750_000_000)) == "2025-06-15T15:06:40.000Z")
        #expect(WallTime.iso8601(Date(timeIntervalSince1970: 1_750_000_000.0005)) == "2025-06-15T15:06:40.001Z")
        #expect(WallTime.iso8601(Date(timeIntervalSince1970: 1_764_600_001.2345)) == "2025-12-01T14:40:01.235Z")
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var t = 1_700_000_000.0
        for _ in 0..<2000 {
            t += 1234.5678901
            let d = Date(timeIntervalSince1970: t)
            #expect(WallTime.iso8601(d) == f.string(from: d))
        }
    }

    @Test("WallTime.parse reads what iso8601 writes (and other ISO 8601 through the formatter), to the millisecond")
    func wallTimeParse() throws {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var t = 1_600_000_000.0
        for _ in 0..<2000 {
            t += 4321.1234567
            let text = WallTime.iso8601(Date(timeIntervalSince1970: t))
            let parsed = try #require(WallTime.parse(text), "\(text)")
            let expected = try #require(f.date(from: text))
            #expect(abs(parsed.timeIntervalSince1970 - expected.timeIntervalSince1970) < 0.0005, "\(text)")
        }
        #expect(WallTime.parse("2025-06-15T15:06:40Z")?.timeIntervalSince1970 == 1_750_000_000)
        #expect(WallTime.parse("2025-06-15T17:06:40+02:00")?.timeIntervalSince1970 == 1_750_000_000, "an offset: the formatter")
        #expect(WallTime.parse("yesterday") == nil)
    }
}
