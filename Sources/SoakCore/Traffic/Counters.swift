/// What the verifier counted. Each class is counted on its own, never folded into another.
public struct Counters: Sendable, Codable, Equatable {
    public var sent: UInt64 = 0
    public var echoed: UInt64 = 0
    public var lost: UInt64 = 0
    public var corrupted: UInt64 = 0
    public var duplicated: UInt64 = 0
    public var outOfOrder: UInt64 = 0
    /// Bytes between frames that belong to no frame (noise, or a frame damaged beyond recognition
    /// that could not be matched to a missing message).
    public var strayBytes: UInt64 = 0
    /// What the stray bytes were, by kind (bytes; together they are `strayBytes`, except bytes
    /// counted by a version that did not attribute them). A truncated frame: a frame header whose
    /// frame was cut short.
    public var strayTruncated: UInt64 = 0
    /// Bytes right after a verified frame, fewer than a frame's worth (a frame extended by something).
    public var strayExtended: UInt64 = 0
    /// Bytes equal to bytes just seen in the stream (a stutter, a repeated piece of a chunk).
    public var strayRepeated: UInt64 = 0
    /// Anything else: bytes inserted into the stream.
    public var strayInserted: UInt64 = 0
    /// How many runs of stray bytes there were.
    public var strayRuns: UInt64 = 0
    /// Messages still in flight when the link failed (hang or hang-up): neither echoed nor lost.
    public var unanswered: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var bytesEchoed: UInt64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sent, echoed, lost, corrupted, duplicated, outOfOrder, strayBytes, unanswered, bytesSent, bytesEchoed
        case strayTruncated, strayExtended, strayRepeated, strayInserted, strayRuns
    }

    /// Timelines of earlier versions have no stray attribution: those fields read as 0.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func v(_ k: CodingKeys) throws -> UInt64 { try c.decodeIfPresent(UInt64.self, forKey: k) ?? 0 }
        sent = try v(.sent); echoed = try v(.echoed); lost = try v(.lost); corrupted = try v(.corrupted)
        duplicated = try v(.duplicated); outOfOrder = try v(.outOfOrder); strayBytes = try v(.strayBytes)
        unanswered = try v(.unanswered); bytesSent = try v(.bytesSent); bytesEchoed = try v(.bytesEchoed)
        strayTruncated = try v(.strayTruncated); strayExtended = try v(.strayExtended)
        strayRepeated = try v(.strayRepeated); strayInserted = try v(.strayInserted); strayRuns = try v(.strayRuns)
    }

    /// The attribution is written only where it is not 0: reports rebuilt from a timeline of an
    /// earlier version stay byte for byte what they were.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sent, forKey: .sent); try c.encode(echoed, forKey: .echoed); try c.encode(lost, forKey: .lost)
        try c.encode(corrupted, forKey: .corrupted); try c.encode(duplicated, forKey: .duplicated)
        try c.encode(outOfOrder, forKey: .outOfOrder); try c.encode(strayBytes, forKey: .strayBytes)
        try c.encode(unanswered, forKey: .unanswered); try c.encode(bytesSent, forKey: .bytesSent)
        try c.encode(bytesEchoed, forKey: .bytesEchoed)
        for (k, v) in [(CodingKeys.strayTruncated, strayTruncated), (.strayExtended, strayExtended), (.strayRepeated, strayRepeated),
                       (.strayInserted, strayInserted), (.strayRuns, strayRuns)] where v > 0 {
            try c.encode(v, forKey: k)
        }
    }

    /// "2 repeated (1 run), ..." style attribution: bytes by kind, the kinds that have any.
    public var strayAttribution: String {
        let kinds = [("truncated frame", strayTruncated), ("extended frame", strayExtended),
                     ("repeated", strayRepeated), ("inserted", strayInserted)].filter { $0.1 > 0 }
        var parts = kinds.map { "\($0.1) \($0.0)" }
        let attributed = strayTruncated + strayExtended + strayRepeated + strayInserted
        if strayBytes > attributed { parts.append("\(strayBytes - attributed) not attributed") }
        return parts.joined(separator: ", ") + " (bytes; \(strayRuns) run\(strayRuns == 1 ? "" : "s"))"
    }

    public static func + (a: Counters, b: Counters) -> Counters {
        var c = a
        c.sent += b.sent; c.echoed += b.echoed; c.lost += b.lost; c.corrupted += b.corrupted
        c.duplicated += b.duplicated; c.outOfOrder += b.outOfOrder; c.strayBytes += b.strayBytes; c.unanswered += b.unanswered
        c.strayTruncated += b.strayTruncated; c.strayExtended += b.strayExtended; c.strayRepeated += b.strayRepeated
        c.strayInserted += b.strayInserted; c.strayRuns += b.strayRuns
        c.bytesSent += b.bytesSent; c.bytesEchoed += b.bytesEchoed
        return c
    }

    /// b - a, field by field: the activity of one interval. lost may go down (a late echo).
    public func delta(since a: Counters) -> Counters {
        var c = Counters()
        c.sent = sent &- a.sent; c.echoed = echoed &- a.echoed; c.lost = lost &- a.lost
        c.corrupted = corrupted &- a.corrupted; c.duplicated = duplicated &- a.duplicated
        c.outOfOrder = outOfOrder &- a.outOfOrder; c.strayBytes = strayBytes &- a.strayBytes
        c.unanswered = unanswered &- a.unanswered
        c.strayTruncated = strayTruncated &- a.strayTruncated; c.strayExtended = strayExtended &- a.strayExtended
        c.strayRepeated = strayRepeated &- a.strayRepeated; c.strayInserted = strayInserted &- a.strayInserted
        c.strayRuns = strayRuns &- a.strayRuns
        c.bytesSent = bytesSent &- a.bytesSent; c.bytesEchoed = bytesEchoed &- a.bytesEchoed
        return c
    }
}
