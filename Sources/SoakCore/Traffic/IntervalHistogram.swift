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
    /// The counts, zero-filled by the kernel. Value semantics: a copy that is written copies
    /// the buckets reached first.
    ///
    /// An anonymous mapping is memory, not I/O: SoakCore's rule of no system calls is about
    /// devices and files. `calloc` would do in principle, but glibc serves a block of this size
    /// from its heap once its mmap threshold has risen (it does after the start-up's large
    /// frees) and then writes the zeros itself: measured, a soak was 0.5 MB larger with it.
    @usableFromInline final class Mapping {
        @usableFromInline let counts: UnsafeMutablePointer<UInt64>

        init() {
            let bytes = IntervalHistogram.length * MemoryLayout<UInt64>.stride
            guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
                fatalError("cannot map \(bytes) bytes for an interval histogram: \(String(cString: strerror(errno)))")
            }
            counts = p.bindMemory(to: UInt64.self, capacity: IntervalHistogram.length)
        }

        deinit {
            munmap(counts, IntervalHistogram.length * MemoryLayout<UInt64>.stride)
        }
    }

    @usableFromInline var mapping = Mapping()
    /// The buckets reached since the last reset: counts outside are 0.
    @usableFromInline var lowest = Int.max
    @usableFromInline var highest = -1
    @usableFromInline var count: UInt64 = 0
    /// How many values since the last reset.
    public var totalCount: UInt64 { count }

    public init() {}

    /// Counts of every bucket up to the one of `EchoVerifier.highestLatencyMicros`.
    static let length = index(EchoVerifier.highestLatencyMicros) + 1

    /// Records one value; past the 1 h ceiling it counts at the ceiling. Inlinable: the
    /// benchmarks call it from their own module, as the verifier does from its.
    @inlinable @inline(__always)
    public mutating func record(_ micros: UInt64) {
        if !isKnownUniquelyReferenced(&mapping) { mapping = copyOfReached() }
        let i = Self.index(Swift.min(micros, EchoVerifier.highestLatencyMicros))
        mapping.counts[i] &+= 1
        count &+= 1
        if i < lowest { lowest = i }
        if i > highest { highest = i }
    }

    @usableFromInline func copyOfReached() -> Mapping {
        let copy = Mapping()
        if highest >= lowest {
            (copy.counts + lowest).update(from: mapping.counts + lowest, count: highest - lowest + 1)
        }
        return copy
    }

    /// The non-empty buckets in ascending order, each named by its highest value, as
    /// `LatencyHistogram.sparseBuckets` names them.
    public var sparseBuckets: SparseBuckets {
        var out = SparseBuckets()
        guard highest >= lowest else { return out }
        let counts = mapping.counts
        for i in lowest...highest where counts[i] > 0 {
            out.append(value: LatencyCounts.highestEquivalent(Self.value(atIndex: i)), count: counts[i])
        }
        return out
    }

    /// Empty again, for the next interval.
    public mutating func reset() {
        if !isKnownUniquelyReferenced(&mapping) {
            mapping = Mapping()
        } else if highest >= lowest {
            (mapping.counts + lowest).update(repeating: 0, count: highest - lowest + 1)
        }
        lowest = .max
        highest = -1
        count = 0
    }

    // MARK: HdrHistogram's counts index for lowest discernible value 1 and 3 significant digits
    // (2048 sub-buckets, half 1024): `countsIndexForValue` and `valueFromIndex`.

    @inlinable @inline(__always)
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
