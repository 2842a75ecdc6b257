import Foundation
@testable import SoakCore
@testable import SoakReports
import Testing

/// events.jsonl's lines: an interval's bucket lists written by hand must give the encoder's
/// own line, byte for byte (older readers and the golden reports read these lines).
@Suite struct EventLineTests {
    let encoder = EventLine.makeEncoder()

    func expectSameLine(_ e: Event, _ what: String) throws {
        let ours = try EventLine.encode(e, with: encoder)
        let foundations = try encoder.encode(e)
        #expect(String(decoding: ours, as: UTF8.self) == String(decoding: foundations, as: UTF8.self), "\(what)")
    }

    static func buckets(count: Int, seed: UInt64) -> SparseBuckets {
        var out = SparseBuckets()
        var state = seed
        var v: UInt64 = 0
        for _ in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            v += 1 + (state >> 40) % 5000
            out.append(value: v, count: 1 + (state >> 20) % 100_000)
        }
        return out
    }

    @Test func anIntervalOfThousandsOfBucketsIsTheEncodersLine() throws {
        var e = Fixture.interval(5, phase: "max-rate", totals: Fixture.counters(sent: 721_710, echoed: 721_700), latency: [])
        e.interval?.latencyMicros = Self.buckets(count: 3000, seed: 1)
        try expectSameLine(e, "latency only")
        e.interval?.scheduleLagMicros = Self.buckets(count: 40, seed: 2)
        try expectSameLine(e, "with the send lag")
        e.interval?.networkRoundTripMicros = Self.buckets(count: 7, seed: 3)
        try expectSameLine(e, "with the network")
        e.interval?.scheduleLagMicros = []
        e.interval?.latencyMicros = [[0, 1], [UInt64.max, UInt64.max], [1, 0]]
        try expectSameLine(e, "an empty list, 0 and the largest numbers")
    }

    @Test func anEmptyIntervalAndOtherEventsAreTheEncodersLine() throws {
        try expectSameLine(Fixture.interval(1, phase: "p", totals: Fixture.counters(sent: 0, echoed: 0), latency: []), "empty interval")
        try expectSameLine(Fixture.runStart(), "run_start")
        try expectSameLine(Fixture.runEnd(20, .completed, totals: Fixture.finalTotals), "run_end")
    }

    @Test func aPhaseNamedLikeTheListIsOnlyAName() throws {
        var e = Fixture.interval(5, phase: "\"latency_micros\":[]", totals: Fixture.counters(sent: 3, echoed: 3), latency: [(120, 3)])
        e.message = "\"schedule_lag_micros\":[] / \"latency_micros\":[]"
        e.interval?.scheduleLagMicros = [[40, 3]]
        try expectSameLine(e, "names that look like keys")
    }
}
