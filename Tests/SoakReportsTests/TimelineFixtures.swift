import Foundation
@testable import SoakCore
@testable import SoakReports

/// A small run, event by event, as the runner would put it on the timeline.
enum Fixture {
    static let profileText = """
    name: smoke
    seed: 42
    report_interval: 10s
    phases:
      - name: warmup
        duration: 10s
        rate: 100
        size: 64
      - name: steady
        duration: 10s
        rate: max
        size: 128
        window: 8
    criteria:
      out_of_order: 1
      latency_p99: 20ms
    """

    static func profile(_ text: String = profileText) -> Profile {
        try! ConfigLoader.parseProfile(text: text, file: "profiles/smoke.yaml")
    }

    static func wall(_ t: Double) -> String {
        WallTime.iso8601(Date(timeIntervalSince1970: 1_750_000_000 + t))
    }

    static func event(_ t: Double, _ type: Event.Kind, _ message: String? = nil) -> Event {
        Event(t: t, wall: wall(t), type: type, message: message)
    }

    static func runStart(profile: Profile = profile()) -> Event {
        var e = event(0, .runStart)
        e.run = RunInfo(profile: profile, board: .builtInSimulator, profilePath: "profiles/smoke.yaml", boardPath: "",
                        seed: profile.seed, host: "bench-host", tool: "rpmsg-soak test")
        return e
    }

    static func phaseStart(_ t: Double, _ index: Int, _ name: String) -> Event {
        var e = event(t, .phaseStart, "phase \(name)")
        e.phase = PhaseMark(index: index, name: name)
        return e
    }

    static func counters(sent: UInt64, echoed: UInt64, lost: UInt64 = 0, outOfOrder: UInt64 = 0) -> Counters {
        var c = Counters()
        c.sent = sent
        c.echoed = echoed
        c.lost = lost
        c.outOfOrder = outOfOrder
        c.bytesSent = sent * 64
        c.bytesEchoed = echoed * 64
        return c
    }

    /// Latencies in microseconds as the runner stores them: sparse HdrHistogram buckets.
    static func buckets(_ values: [(UInt64, UInt64)]) -> SparseBuckets {
        var h = EchoVerifier.makeHistogram()
        for (v, n) in values { _ = h.record(v, count: n) }
        return h.sparseBuckets
    }

    static func interval(_ t: Double, phase: String, totals: Counters, latency: [(UInt64, UInt64)]) -> Event {
        var e = event(t, .interval)
        e.interval = IntervalSnapshot(phase: phase, seconds: 10, totals: totals, outstanding: 0,
                                      latencyMicros: buckets(latency), anomaliesNotListed: 0)
        return e
    }

    static func anomaly(_ t: Double, _ kind: Anomaly.Kind, seq: UInt64) -> Event {
        var e = event(t, .anomaly, "\(kind.rawValue) seq \(seq)")
        e.anomaly = AnomalyRecord(kind: kind, seq: seq, latencyMicros: 900)
        return e
    }

    static func runEnd(_ t: Double, _ reason: RunEnd.Reason, totals: Counters, detail: String? = nil) -> Event {
        var e = event(t, .runEnd, detail)
        e.end = RunEnd(reason: reason, detail: detail, totals: totals, seconds: t)
        return e
    }

    static let firstTotals = counters(sent: 1_000, echoed: 1_000)
    static let finalTotals = counters(sent: 3_000, echoed: 3_000, outOfOrder: 1)

    /// Two phases, two snapshots, one anomaly: 1000 + 2000 latencies recorded.
    static func run(end: Event? = runEnd(20, .completed, totals: finalTotals)) -> [Event] {
        var events = [
            runStart(),
            phaseStart(0, 0, "warmup"),
            interval(10, phase: "warmup", totals: firstTotals, latency: [(400, 500), (600, 500)]),
            phaseStart(10, 1, "steady"),
            anomaly(12.5, .outOfOrder, seq: 1_234),
            interval(20, phase: "steady", totals: finalTotals, latency: [(500, 1_900), (9_000, 100)]),
        ]
        if let end { events.append(end) }
        return events
    }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("soak-reports-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
