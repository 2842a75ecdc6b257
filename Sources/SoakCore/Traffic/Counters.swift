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
    /// Messages still in flight when the link failed (hang or hang-up): neither echoed nor lost.
    public var unanswered: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var bytesEchoed: UInt64 = 0

    public init() {}

    public static func + (a: Counters, b: Counters) -> Counters {
        var c = a
        c.sent += b.sent; c.echoed += b.echoed; c.lost += b.lost; c.corrupted += b.corrupted
        c.duplicated += b.duplicated; c.outOfOrder += b.outOfOrder; c.strayBytes += b.strayBytes; c.unanswered += b.unanswered
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
        c.bytesSent = bytesSent &- a.bytesSent; c.bytesEchoed = bytesEchoed &- a.bytesEchoed
        return c
    }
}
