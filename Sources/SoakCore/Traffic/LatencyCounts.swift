/// Round trips as (bucket, count) pairs in ascending order: what an interval snapshot's
/// `SparseBuckets` hold, merged over as many snapshots as a whole run, a phase or a chart point
/// takes. Every figure (count, min, percentiles, max, mean) is exactly what a `LatencyHistogram`
/// fed the same buckets would give, but the counts take a few kB where a histogram's array from
/// 1 us to 1 h takes 188 kB (issue 14: the figures of a run are folded from its timeline in the
/// tester's own process, and a histogram per figure was most of the heap a snapshot added).
///
/// The hot path does not use this: the verifier records each echo into an `IntervalHistogram` (an
/// array index), and its interval's buckets are merged in here once per snapshot.
public struct LatencyCounts: Sendable, Equatable {
    /// Bucket values, ascending: each is the highest value of its HdrHistogram bucket
    /// (`highestEquivalentForValue`), as `SparseBuckets` holds them.
    public private(set) var values: [UInt64] = []
    public private(set) var counts: [UInt64] = []
    /// How many round trips.
    public private(set) var total: UInt64 = 0
    /// The largest and smallest non-zero value as recorded (a histogram keeps these apart from
    /// its buckets, and its percentiles are clamped to them).
    private var maxRecorded: UInt64 = 0
    private var minNonZeroRecorded: UInt64 = .max

    public init() {}

    public init(sparse: SparseBuckets) {
        add(sparse: sparse)
    }

    public var isEmpty: Bool { total == 0 }

    /// Adds buckets as `LatencyHistogram.add(sparse:)` would: a value past the histogram's
    /// ceiling counts at the ceiling, a bucket of count 0 is left out.
    public mutating func add(sparse: SparseBuckets) {
        var inValues: [UInt64] = []
        var inCounts: [UInt64] = []
        inValues.reserveCapacity(sparse.count)
        inCounts.reserveCapacity(sparse.count)
        var sorted = true
        for b in sparse where b.count > 0 {
            let v = Swift.min(b.value, EchoVerifier.highestLatencyMicros)
            noteRecorded(v)
            let bucket = Self.highestEquivalent(v)
            if let last = inValues.last, last >= bucket { sorted = false }
            inValues.append(bucket)
            inCounts.append(b.count)
        }
        guard !inValues.isEmpty else { return }
        // A timeline written by rpmsg-soak lists its buckets in ascending order; one written by
        // hand need not.
        if !sorted {
            let pairs = zip(inValues, inCounts).sorted { $0.0 < $1.0 }
            inValues = pairs.map(\.0)
            inCounts = pairs.map(\.1)
        }
        add(values: inValues, counts: inCounts)
    }

    /// Adds another's counts, as `LatencyHistogram.add(_:)` would.
    public mutating func add(_ other: LatencyCounts) {
        guard !other.isEmpty else { return }
        if isEmpty {
            self = other
            return
        }
        maxRecorded = Swift.max(maxRecorded, other.maxRecorded)
        minNonZeroRecorded = Swift.min(minNonZeroRecorded, other.minNonZeroRecorded)
        add(values: other.values, counts: other.counts)
    }

    public func adding(_ other: LatencyCounts) -> LatencyCounts {
        var out = self
        out.add(other)
        return out
    }

    /// Buckets in ascending order (a value may repeat), added to those held: in place when every
    /// one is held already (a run's buckets are soon all there, and most snapshots bring no new
    /// one), else merged into new arrays.
    private mutating func add(values inValues: [UInt64], counts inCounts: [UInt64]) {
        let m = inValues.count
        var held = m <= values.count
        if held {
            values.withUnsafeBufferPointer { have in
                var i = 0
                for v in inValues {
                    while i < have.count && have[i] < v { i += 1 }
                    if i == have.count || have[i] != v { held = false; return }
                }
            }
        }
        if held {
            let have = values
            counts.withUnsafeMutableBufferPointer { counts in
                var i = 0
                for j in 0..<m {
                    while have[i] < inValues[j] { i += 1 }
                    counts[i] += inCounts[j]
                }
            }
            total += inCounts.reduce(0, +)
            return
        }
        let n = values.count
        var outValues: [UInt64] = []
        var outCounts: [UInt64] = []
        outValues.reserveCapacity(n + m)
        outCounts.reserveCapacity(n + m)
        var i = 0, j = 0
        while i < n || j < m {
            let v: UInt64
            let c: UInt64
            if j == m || (i < n && values[i] < inValues[j]) {
                v = values[i]; c = counts[i]; i += 1
            } else {
                v = inValues[j]; c = inCounts[j]; j += 1
                total += c
            }
            if let last = outValues.last, last == v {
                outCounts[outCounts.count - 1] += c
            } else {
                outValues.append(v)
                outCounts.append(c)
            }
        }
        values = outValues
        counts = outCounts
    }

    private mutating func noteRecorded(_ v: UInt64) {
        maxRecorded = Swift.max(maxRecorded, v)
        if v != 0 { minNonZeroRecorded = Swift.min(minNonZeroRecorded, v) }
    }

    // MARK: figures, as `LatencyHistogram` gives them

    /// `LatencyHistogram.min`: 0 when a 0 was recorded.
    public var min: UInt64 {
        guard total > 0 else { return 0 }
        return values.first == 0 ? 0 : minNonZeroRecorded
    }

    /// `LatencyHistogram.max`: the highest value of the highest bucket.
    public var max: UInt64 {
        maxRecorded == 0 ? 0 : Self.highestEquivalent(maxRecorded)
    }

    /// `LatencyHistogram.valueAtPercentile`.
    public func value(atPercentile percentile: Double) -> UInt64 {
        guard percentile != 0 else { return min }
        guard percentile < 100 else { return maxRecorded }
        let requested = Swift.min(Swift.max(percentile.nextDown, 0), 100)
        let wanted = Swift.max(1, UInt64((requested * Double(total) / 100).rounded(.up)))
        var running: UInt64 = 0
        for i in values.indices {
            running += counts[i]
            if running >= wanted {
                return Swift.max(Swift.min(values[i], maxRecorded), min)
            }
        }
        return 0
    }

    /// `LatencyHistogram.mean`: each bucket counts at the middle of its range.
    public var mean: Double {
        guard total > 0 else { return 0 }
        var sum: Double = 0
        for i in values.indices {
            sum += Double(Self.medianEquivalent(values[i])) * Double(counts[i])
        }
        return sum / Double(total)
    }

    /// The buckets as a timeline holds them.
    public var sparse: SparseBuckets {
        var out = SparseBuckets()
        for i in values.indices { out.append(value: values[i], count: counts[i]) }
        return out
    }

    // MARK: HdrHistogram's buckets for `EchoVerifier.makeHistogram()`: lowest discernible value 1
    // (unit magnitude 0), 3 significant digits (2048 sub-buckets, half 1024).

    /// `bucketIndexForValue`: `leadingZeroCountBase` (64 - unit magnitude 0 - sub-bucket count
    /// magnitude 11) less the leading zeros of the value with the sub-bucket mask (2047) set.
    @inlinable @inline(__always)
    static func bucketIndex(_ v: UInt64) -> Int {
        53 - (v | 2047).leadingZeroBitCount
    }

    static func lowestEquivalent(_ v: UInt64) -> UInt64 {
        let b = bucketIndex(v)
        return (v >> b) << b
    }

    static func rangeSize(_ v: UInt64) -> UInt64 {
        UInt64(1) << bucketIndex(v)
    }

    /// `highestEquivalentForValue`.
    public static func highestEquivalent(_ v: UInt64) -> UInt64 {
        lowestEquivalent(v) + rangeSize(v) - 1
    }

    /// `medianEquivalentForValue`.
    static func medianEquivalent(_ v: UInt64) -> UInt64 {
        lowestEquivalent(v) + (rangeSize(v) >> 1)
    }
}
