import Histogram

/// Round trips in microseconds, HdrHistogram with 3 significant digits from 1 us to 1 h.
public typealias LatencyHistogram = Histogram<UInt64>

/// A histogram's non-empty buckets, as the timeline holds them: `[[value, count], ...]` in JSON,
/// one flat array in memory (a 12-hour timeline holds hundreds of thousands of buckets: a
/// small array per bucket cost more than the buckets themselves).
public struct SparseBuckets: Codable, Sendable, Equatable, ExpressibleByArrayLiteral, Sequence {
    /// value, count, value, count, ...
    private var flat: [UInt64]

    public init() { flat = [] }

    /// From `[value, count]` pairs (a pair of another length is left out).
    public init(_ pairs: [[UInt64]]) {
        flat = []
        flat.reserveCapacity(pairs.count * 2)
        for p in pairs where p.count == 2 { flat.append(p[0]); flat.append(p[1]) }
    }

    public init(arrayLiteral pairs: [UInt64]...) { self.init(pairs) }

    public mutating func append(value: UInt64, count: UInt64) {
        flat.append(value)
        flat.append(count)
    }

    public var isEmpty: Bool { flat.isEmpty }
    /// How many buckets.
    public var count: Int { flat.count / 2 }
    public var pairs: [[UInt64]] { map { [$0.value, $0.count] } }

    public func makeIterator() -> AnyIterator<(value: UInt64, count: UInt64)> {
        var i = 0
        let flat = self.flat
        return AnyIterator {
            guard i + 1 < flat.count else { return nil }
            defer { i += 2 }
            return (flat[i], flat[i + 1])
        }
    }

    public init(from decoder: Decoder) throws {
        var outer = try decoder.unkeyedContainer()
        flat = []
        flat.reserveCapacity((outer.count ?? 0) * 2)
        while !outer.isAtEnd {
            var pair = try outer.nestedUnkeyedContainer()
            var values: [UInt64] = []
            while !pair.isAtEnd { values.append(try pair.decode(UInt64.self)) }
            if values.count == 2 { flat.append(values[0]); flat.append(values[1]) }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var outer = encoder.unkeyedContainer()
        var i = 0
        while i + 1 < flat.count {
            var pair = outer.nestedUnkeyedContainer()
            try pair.encode(flat[i])
            try pair.encode(flat[i + 1])
            i += 2
        }
    }
}

extension Histogram where Count == UInt64 {
    /// Non-empty buckets: compact enough to put on the timeline.
    public var sparseBuckets: SparseBuckets {
        var out = SparseBuckets()
        for v in recordedValues() { out.append(value: v.value, count: v.count) }
        return out
    }

    /// Adds buckets written by `sparseBuckets`.
    public mutating func add(sparse: SparseBuckets) {
        for b in sparse where b.count > 0 {
            _ = record(Swift.min(b.value, EchoVerifier.highestLatencyMicros), count: b.count)
        }
    }
}
