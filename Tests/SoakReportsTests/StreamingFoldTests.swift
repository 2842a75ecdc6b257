import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// The reports of a long run take memory that does not grow with its number of interval
/// snapshots (issue 14: a 12-hour timeline must not be held whole to write its reports). Not
/// measured (the machine is noisy) but counted: every element of every array, dictionary and
/// set the fold holds, after a night twice as long.
@Suite("Reports fold the timeline without keeping its intervals")
struct StreamingFoldTests {
    /// A night of `intervals` snapshots, each with a finding and an anomaly, a hang and its
    /// recovery in the middle, made one event at a time: no array of it is ever built.
    static func night(intervals: Int, _ body: (Event) -> Void) {
        let latencies = (0..<7).map { Fixture.buckets([(400, 500), (600, 400), (9_000 + UInt64($0) * 1_000, 100)]) }
        body(Fixture.runStart())
        body(Fixture.phaseStart(0, 0, "warmup"))
        for k in 1...intervals {
            let t = Double(k) * 10
            body(Fixture.anomaly(t - 5, .outOfOrder, seq: UInt64(k)))
            var finding = Fixture.event(t - 4, .finding, "firmware-assert")
            finding.finding = Finding(rule: "firmware-assert", findingClass: "firmware-assert", severity: .warning, action: .record,
                                      source: .uart, explanation: "the M7 firmware asserted", line: "ASSERT \(k)", details: nil)
            body(finding)
            let sent = UInt64(k) * 1_000
            var snapshot = Fixture.event(t, .interval)
            snapshot.interval = IntervalSnapshot(phase: "warmup", seconds: 10, totals: Fixture.counters(sent: sent, echoed: sent), outstanding: 0,
                                                 latencyMicros: latencies[k % latencies.count], anomaliesNotListed: 0)
            body(snapshot)
            if k == intervals / 2 {
                var hang = Fixture.event(t + 1, .hang, "no echo for 3s")
                hang.failure = LinkFailure(kind: .hang, reason: "no echo for 3s", outstanding: 1, lostBeforeFailure: 0,
                                           lastSeqSent: sent, sinceLastEcho: 3, messagesSinceStart: sent, evidence: nil)
                body(hang)
                var back = Fixture.event(t + 2, .recovery, "power-cycle: link back")
                back.recovery = RecoveryRecord(step: .powerCycle, outcome: .succeeded, seconds: 1, detail: "probe echoed")
                body(back)
            }
        }
        let end = UInt64(intervals) * 1_000
        body(Fixture.runEnd(Double(intervals) * 10, .completed, totals: Fixture.counters(sent: end, echoed: end)))
    }

    /// What the fold of `night(intervals:)` holds before its last step, and what it made.
    static func fold(intervals: Int) throws -> (retained: Int, summary: RunSummary, digest: TimelineDigest) {
        var gathering = TimelineDigest.Gathering()
        night(intervals: intervals) { gathering.add($0) }
        var drawing = gathering.drawing(maxPoints: 10)
        night(intervals: intervals) { drawing.add($0) }
        return (retained(gathering) + retained(drawing), try gathering.summary.summary(), gathering.digest(drawing.series))
    }

    /// Elements of every array, dictionary and set reachable from `value`.
    static func retained(_ value: Any) -> Int {
        let mirror = Mirror(reflecting: value)
        var n = 0
        switch mirror.displayStyle {
        case .collection?, .dictionary?, .set?:
            n += mirror.children.count
            // Elements without parts of their own (numbers, a histogram's counts) need not be opened one by one.
            if let first = mirror.children.first, Mirror(reflecting: first.value).children.isEmpty { return n }
        default:
            break
        }
        for child in mirror.children { n += retained(child.value) }
        return n
    }

    @Test("twice the intervals, no more held: a point spans more of them, findings past 500 and anomalies are counted")
    func retainedStateDoesNotGrowWithTheNight() throws {
        let short = try Self.fold(intervals: 600)
        let long = try Self.fold(intervals: 1_200)
        #expect(long.retained == short.retained, "the fold holds \(short.retained) elements after 600 intervals, \(long.retained) after 1200")
        // It did fold them all.
        #expect(short.summary.latencyMicros?.count == 600 * 1_000 && long.summary.latencyMicros?.count == 1_200 * 1_000)
        #expect(long.summary.findingCounts["firmware-assert"] == 1_200 && long.summary.findings.count == 500)
        #expect(long.summary.anomalies["out_of_order"] == 1_200)
        #expect(short.digest.series.points.count == 10 && long.digest.series.points.count == 10)
        #expect(short.digest.series.bucketSize == 60 && long.digest.series.bucketSize == 120)
        #expect(long.digest.series.intervals == 1_200)
        #expect(long.digest.landmarks.count == 2 && long.digest.landmarks.first?.type == .hang)
    }

    @Test("the digest of events in memory draws what the timeline file's two passes draw")
    func digestOfEventsEqualsTheFileFold() throws {
        var events: [Event] = []
        Self.night(intervals: 30) { events.append($0) }
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try TimelineWriter(path: "\(dir)/\(RunFolder.timelineName)", syncInterval: nil)
        for e in events { writer.emit(e) }
        writer.close()
        let (summary, digest) = try TimelineFold.reports(of: .file(path: "\(dir)/\(RunFolder.timelineName)"))
        let whole = try SummaryBuilder.build(events: events)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(try encoder.encode(summary) == encoder.encode(whole))
        #expect(HtmlReport.render(summary, timeline: digest) == HtmlReport.render(whole, events: events))
        #expect(MarkdownReport.render(summary, timeline: digest) == MarkdownReport.render(whole, events: events))
        #expect(try RunFolder.read(directory: dir).run == events.first?.run)
    }
}
