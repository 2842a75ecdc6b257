import Histogram
@testable import SoakCore
import Testing

/// `LatencyCounts` stands in for a `LatencyHistogram` wherever a run's figures are folded from
/// its snapshots' buckets; every figure must be the histogram's own, to the last bit (the
/// reports built from it are compared byte for byte).
@Suite struct LatencyCountsTests {
    /// A deterministic generator, so a failure names a case that can be run again.
    struct Lcg {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        mutating func below(_ n: UInt64) -> UInt64 { next() % n }
    }

    /// Round trips as a verifier records them: mostly near a typical value, some far out, a few
    /// 0 and past the 1 h ceiling.
    static func interval(_ rng: inout Lcg, size: Int) -> LatencyHistogram {
        var h = EchoVerifier.makeHistogram()
        for _ in 0..<size {
            let v: UInt64
            switch rng.below(20) {
            case 0: v = 0
            case 1: v = rng.below(2048)
            case 2: v = rng.below(EchoVerifier.highestLatencyMicros)
            case 3: v = EchoVerifier.highestLatencyMicros - rng.below(1_000_000)
            default: v = 40 + rng.below(200_000)
            }
            h.record(v, count: 1 + rng.below(5))
        }
        return h
    }

    static func expectSame(_ c: LatencyCounts, _ h: LatencyHistogram, _ what: String) {
        #expect(c.total == h.totalCount, "\(what): count")
        #expect(c.min == h.min, "\(what): min")
        #expect(c.max == h.max, "\(what): max")
        for p in [0, 0.1, 1, 25, 50, 90, 99, 99.9, 99.99, 100] {
            #expect(c.value(atPercentile: p) == h.valueAtPercentile(p), "\(what): p\(p)")
        }
        #expect(c.mean == h.mean, "\(what): mean")
        #expect(c.sparse == h.sparseBuckets, "\(what): buckets")
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func mergedSnapshotsGiveTheHistogramsFigures(seed: UInt64) {
        var rng = Lcg(state: seed)
        var counts = LatencyCounts()
        var histogram = EchoVerifier.makeHistogram()
        for round in 0..<12 {
            let snapshot = Self.interval(&rng, size: Int(1 + rng.below(400))).sparseBuckets
            counts.add(sparse: snapshot)
            histogram.add(sparse: snapshot)
            Self.expectSame(counts, histogram, "seed \(seed), after snapshot \(round)")
        }
    }

    /// Snapshots whose buckets are all held already add in place (no new array); one with a
    /// new bucket merges: both give the histogram's figures.
    @Test func snapshotsOfBucketsAlreadyHeldAddInPlace() {
        var rng = Lcg(state: 21)
        let first = Self.interval(&rng, size: 500).sparseBuckets
        var counts = LatencyCounts(sparse: first)
        var histogram = EchoVerifier.makeHistogram()
        histogram.add(sparse: first)
        var whole = LatencyCounts(sparse: first)
        for round in 0..<8 {
            // Every other bucket of the first snapshot, counts changed; now and then one new.
            var subset = SparseBuckets()
            for (i, b) in first.enumerated() where i % 2 == round % 2 { subset.append(value: b.value, count: 1 + rng.below(9)) }
            if round == 5 { subset.append(value: EchoVerifier.highestLatencyMicros - 7, count: 2) }
            counts.add(sparse: subset)
            histogram.add(sparse: subset)
            whole.add(LatencyCounts(sparse: subset))
            Self.expectSame(counts, histogram, "round \(round), from buckets")
            Self.expectSame(whole, histogram, "round \(round), from another fold")
        }
    }

    @Test func mergingTwoFoldsIsFoldingBoth() {
        var rng = Lcg(state: 99)
        var a = LatencyCounts(), b = LatencyCounts()
        var h = EchoVerifier.makeHistogram()
        for i in 0..<10 {
            let s = Self.interval(&rng, size: 200).sparseBuckets
            if i.isMultiple(of: 2) { a.add(sparse: s) } else { b.add(sparse: s) }
            h.add(sparse: s)
        }
        Self.expectSame(a.adding(b), h, "a + b")
        Self.expectSame(b.adding(a), h, "b + a")
        Self.expectSame(LatencyCounts().adding(a).adding(LatencyCounts()).adding(b), h, "empty + a + empty + b")
    }

    @Test func bucketsInAnyOrderAndPastTheCeilingCountAsTheHistogramCountsThem() {
        // A hand-written timeline: out of order, a value twice, a count of 0, a value past 1 h.
        let sparse: SparseBuckets = [[5000, 2], [17, 1], [5000, 3], [900, 0], [EchoVerifier.highestLatencyMicros * 2, 1], [0, 4]]
        var h = EchoVerifier.makeHistogram()
        h.add(sparse: sparse)
        Self.expectSame(LatencyCounts(sparse: sparse), h, "hand-written")
    }

    @Test func anEmptyFoldHasTheEmptyHistogramsFigures() {
        let c = LatencyCounts(sparse: [[12, 0]])
        let h = EchoVerifier.makeHistogram()
        #expect(c.isEmpty)
        Self.expectSame(c, h, "empty")
    }

    @Test func bucketEdgesAreTheHistograms() {
        let h = EchoVerifier.makeHistogram()
        var rng = Lcg(state: 7)
        var probes: [UInt64] = [0, 1, 2047, 2048, 2049, 4095, 4096, 1 << 20, (1 << 20) - 1, EchoVerifier.highestLatencyMicros]
        for _ in 0..<2000 { probes.append(rng.below(EchoVerifier.highestLatencyMicros)) }
        for v in probes {
            #expect(LatencyCounts.highestEquivalent(v) == h.highestEquivalentForValue(v), "value \(v)")
            #expect(LatencyCounts.medianEquivalent(v) == h.medianEquivalentForValue(v), "value \(v)")
        }
    }
}

/// The hot path's histogram: the buckets of every value, and of a reset, must be the ones
/// `LatencyHistogram` gives (the snapshots on the timeline are its sparse buckets).
@Suite struct IntervalHistogramTests {
    @Test(arguments: [11, 12, 13])
    func itsBucketsAreTheHistograms(seed: UInt64) {
        var rng = LatencyCountsTests.Lcg(state: seed)
        var ours = IntervalHistogram()
        for round in 0..<6 {
            var reference = EchoVerifier.makeHistogram()
            for _ in 0..<Int(rng.below(3000)) {
                let v: UInt64 = switch rng.below(10) {
                case 0: rng.below(2048)
                case 1: rng.below(EchoVerifier.highestLatencyMicros * 2)
                default: 30 + rng.below(50_000)
                }
                ours.record(v)
                reference.record(Swift.min(v, EchoVerifier.highestLatencyMicros))
            }
            #expect(ours.totalCount == reference.totalCount, "seed \(seed), interval \(round)")
            #expect(ours.sparseBuckets == reference.sparseBuckets, "seed \(seed), interval \(round)")
            ours.reset()
            #expect(ours.totalCount == 0 && ours.sparseBuckets.isEmpty)
        }
    }

    @Test func everyIndexIsTheHistogramsAndMapsBack() {
        let h = EchoVerifier.makeHistogram()
        var rng = LatencyCountsTests.Lcg(state: 5)
        var probes: [UInt64] = [0, 1, 1023, 1024, 2047, 2048, 2049, 4095, 4096, EchoVerifier.highestLatencyMicros]
        for _ in 0..<5000 { probes.append(rng.below(EchoVerifier.highestLatencyMicros)) }
        for v in probes {
            let i = IntervalHistogram.index(v)
            #expect(i >= 0 && i < IntervalHistogram.length, "value \(v)")
            #expect(IntervalHistogram.value(atIndex: i) == h.lowestEquivalentForValue(v), "value \(v)")
        }
    }

    @Test func aCopyIsItsOwn() {
        var a = IntervalHistogram()
        a.record(100)
        var b = a
        b.record(5000)
        a.record(7)
        #expect(a.sparseBuckets == [[7, 1], [100, 1]])
        #expect(b.sparseBuckets == [[100, 1], [LatencyCounts.highestEquivalent(5000), 1]])
        var c = b
        c.reset()
        #expect(c.totalCount == 0 && b.totalCount == 2)
    }
}
