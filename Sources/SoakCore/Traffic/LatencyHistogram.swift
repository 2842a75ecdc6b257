import Histogram

/// Round trips in microseconds, HdrHistogram with 3 significant digits from 1 us to 1 h.
public typealias LatencyHistogram = Histogram<UInt64>

extension Histogram where Count == UInt64 {
    /// Non-empty buckets as [value, count] pairs: compact enough to put on the timeline.
    public var sparseBuckets: [[UInt64]] {
        var out: [[UInt64]] = []
        for v in recordedValues() { out.append([v.value, v.count]) }
        return out
    }

    /// Adds buckets written by `sparseBuckets`.
    public mutating func add(sparse: [[UInt64]]) {
        for pair in sparse where pair.count == 2 && pair[1] > 0 {
            _ = record(Swift.min(pair[0], EchoVerifier.highestLatencyMicros), count: pair[1])
        }
    }
}
