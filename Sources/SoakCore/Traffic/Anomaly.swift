/// What the verifier reports beside its counters: anomalies of single messages, and runs of
/// bytes that belong to no verified frame.

/// One thing the verifier noticed about one message, for the timeline.
public struct Anomaly: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case lost, corrupted, duplicated, outOfOrder = "out_of_order"
        /// Echoed after it had been counted lost: now counted out of order instead.
        case late
        /// A well-formed frame this run never sent.
        case unexpected
        /// A run of bytes that belongs to no verified frame (`stray` says what it was).
        case stray
    }
    public var kind: Kind
    /// For a stray run: the first frame after it, else the last verified one before it, else 0.
    public var seq: UInt64
    public var at: UInt64
    /// Latency in microseconds where one was measured, else 0.
    public var latencyMicros: UInt64
    /// For `.stray`: the run's kind, length, first bytes and neighbours.
    public var stray: StrayRun? = nil
}

/// What a run of stray bytes was, as far as the stream tells.
public enum StrayKind: String, Sendable, Codable, CaseIterable {
    /// A frame header whose frame is cut short (bytes of the frame were dropped).
    case truncated
    /// Bytes right after a verified frame (fewer than a frame's worth: more is a damaged frame).
    case extended
    /// Bytes equal to bytes just seen in the stream (next to them, or a piece of the last 1 KiB).
    case repeated
    /// Anything else.
    case inserted
}

/// One run of stray bytes, kept without allocating: its first 32 bytes inline.
public struct StrayRun: Sendable, Equatable {
    public static let headCapacity = 32
    public var kind: StrayKind
    public var length: Int
    /// The last verified frame before the run; nil when none was.
    public var seqBefore: UInt64?
    /// The frame that ended the run (verified or damaged); nil when the stream ended first.
    public var seqAfter: UInt64?
    public var head: SIMD32<UInt8> = .zero
    public var headCount: Int = 0

    public var headBytes: [UInt8] { (0..<headCount).map { head[$0] } }
    /// "68 65 6c ..." (allocates: for the timeline only).
    public var hex: String { Self.hex(headBytes) }

    public static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { b in
            let d = Array("0123456789abcdef")
            return String([d[Int(b >> 4)], d[Int(b & 0xF)]])
        }.joined(separator: " ")
    }
}
