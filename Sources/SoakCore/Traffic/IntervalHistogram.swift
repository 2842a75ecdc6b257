import Glibc

/// The round trips (or send lags) of one report interval, in microseconds, recorded on the hot
/// path: HdrHistogram's buckets from 1 us to 1 h with 3 significant digits, the same as
/// `EchoVerifier.makeHistogram()` and `LatencyCounts`, and the same `sparseBuckets`.
///
/// Unlike `LatencyHistogram`, whose 188 kB array is written through when it is made and at every
/// reset, the counts here are an anonymous mapping that the kernel fills with zeros a page at a
/// time when first written, and a reset clears only the buckets the interval reached: an
/// interval's round trips fall in a few pages, and only those are resident (issue 14). A record
/// is an index computation, an increment and two compares, as in HdrHistogram.
public struct IntervalHistogram {
    /// Value semantics over the mapping: a copy that is written copies it first.
    final class Storage {
        let counts: UnsafeMutablePointer<UInt64>
        /// The buckets reached since the last reset: counts outside are 0.
        var lowest = Int.max
        var highest = -1
        var total: UInt64 = 0

        init() {
            let bytes = IntervalHistogram.length * MemoryLayout<UInt64>.stride
            guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
                fatalError("cannot map \(bytes) bytes for an interval histogram: \(String(cString: strerror(errno)))")
            }
            counts = p.bindMemory(to: UInt64.self, capacity: IntervalHistogram.length)
        }

        convenience init(copying other: Storage) {
            self.init()
            if other.highest >= other.lowest {
                (counts + other.lowest).update(from: other.counts + other.lowest, count: other.highest - other.lowest + 1)
            }
            lowest = other.lowest
            highest = other.highest
            total = other.total
        }

        deinit {
            munmap(counts, IntervalHistogram.length * MemoryLayout<UInt64>.stride)
        }
    }

    private var storage = Storage()

    public init() {}

    /// Counts of every bucket up to the one of `EchoVerifier.highestLatencyMicros`.
    static let length = index(EchoVerifier.highestLatencyMicros) + 1

    /// Records one value; past the 1 h ceiling it counts at the ceiling.
    @inline(__always)
    public mutating func record(_ micros: UInt64) {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
        let i = Self.index(Swift.min(micros, EchoVerifier.highestLatencyMicros))
        let s = storage
        s.counts[i] &+= 1
        s.total &+= 1
        if i < s.lowest { s.lowest = i }
        if i > s.highest { s.highest = i }
    }

    /// How many values since the last reset.
    public var totalCount: UInt64 { storage.total }

    /// The non-empty buckets in ascending order, each named by its highest value, as
    /// `LatencyHistogram.sparseBuckets` names them.
    public var sparseBuckets: SparseBuckets {
        var out = SparseBuckets()
        let s = storage
        guard s.highest >= s.lowest else { return out }
        for i in s.lowest...s.highest where s.counts[i] > 0 {
            out.append(value: LatencyCounts.highestEquivalent(Self.value(atIndex: i)), count: s.counts[i])
        }
        return out
    }

    /// Empty again, for the next interval.
    public mutating func reset() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = Storage()
            return
        }
        let s = storage
        if s.highest >= s.lowest {
            (s.counts + s.lowest).update(repeating: 0, count: s.highest - s.lowest + 1)
        }
        s.lowest = .max
        s.highest = -1
        s.total = 0
    }

    // MARK: HdrHistogram's counts index for lowest discernible value 1 and 3 significant digits
    // (2048 sub-buckets, half 1024): `countsIndexForValue` and `valueFromIndex`.

    @inline(__always)
    static func index(_ v: UInt64) -> Int {
        let bucket = LatencyCounts.bucketIndex(v)
        let subBucket = Int(truncatingIfNeeded: v >> UInt64(bucket))
        return ((bucket + 1) << 10) + (subBucket - 1024)
    }

    static func value(atIndex i: Int) -> UInt64 {
        var bucket = (i >> 10) - 1
        var subBucket = (i & 1023) + 1024
        if bucket < 0 {
            subBucket -= 1024
            bucket = 0
        }
        return UInt64(subBucket) << UInt64(bucket)
    }
}
