/// A soak profile: WHAT to do. Knows nothing of devices.
public struct Profile: Sendable, Codable, Equatable {
    public var name: String
    public var description: String?
    public var seed: UInt64
    public var phases: [Phase]
    public var link: LinkTimeouts
    public var criteria: PassCriteria
    /// How often a snapshot of counters and latency goes onto the timeline.
    public var reportInterval: SoakDuration
    /// How often `events.jsonl` is fsynced while the run writes it (`timeline_sync`); nil: every second.
    public var timelineSync: SoakDuration? = nil
    public static let defaultTimelineSync = SoakDuration.seconds(1)
    /// The profile's own rules, checked with the built-in ones (those named in `silence` are off).
    public var rules: [Rule] = []
    public var silence: [String] = []
    public var heartbeat: HeartbeatRule?
    /// nil: a link failure ends the run.
    public var recovery: RecoveryPolicy?
    /// How `compare` and `run --baseline` judge this profile's runs; nil: the defaults.
    public var gate: GateConfig?

    /// Built-in rules less the silenced ones, then the profile's.
    public var effectiveRules: [Rule] {
        BuiltInRules.all.filter { !silence.contains($0.name) } + rules
    }

    public var totalDuration: SoakDuration {
        SoakDuration(nanoseconds: phases.reduce(0) { $0 + $1.duration.nanoseconds })
    }
}

public struct Phase: Sendable, Codable, Equatable {
    public var name: String
    public var duration: SoakDuration
    public var rate: Rate
    public var size: SizeSpec
    public var burst: Burst?
    /// Messages sent but not yet echoed, at most. 1 is strict ping-pong.
    public var window: Int
    public var payload: PayloadEncoding
}

public enum Rate: Sendable, Equatable, CustomStringConvertible {
    /// Messages per second, on an absolute schedule (no drift).
    case perSecond(Double)
    /// As fast as the window allows.
    case max

    public var description: String {
        switch self {
        case .perSecond(let r): return "\(r)/s"
        case .max: return "max"
        }
    }
}

/// N messages back to back, every `every`.
public struct Burst: Sendable, Codable, Equatable {
    public var count: Int
    public var every: SoakDuration
}

/// Sizes are whole frames on the wire (header, payload and CRC), as the M7 receives them.
public enum SizeSpec: Sendable, Equatable, CustomStringConvertible {
    case fixed(Int)
    /// Cycled through in order.
    case list([Int])
    /// Uniformly distributed, seeded.
    case uniform(min: Int, max: Int)
    /// from, from+step, ... to, then again from `from`.
    case sweep(from: Int, to: Int, step: Int)

    public var bounds: ClosedRange<Int> {
        switch self {
        case .fixed(let n): return n...n
        case .list(let l): return (l.min() ?? 0)...(l.max() ?? 0)
        case .uniform(let lo, let hi): return lo...hi
        case .sweep(let a, let b, _): return Swift.min(a, b)...Swift.max(a, b)
        }
    }

    public var description: String {
        switch self {
        case .fixed(let n): return "\(n)"
        case .list(let l): return l.map(String.init).joined(separator: ",")
        case .uniform(let lo, let hi): return "uniform \(lo)-\(hi)"
        case .sweep(let a, let b, let s): return "sweep \(a)..\(b) step \(s)"
        }
    }
}

public enum PayloadEncoding: String, Sendable, Codable, Equatable {
    /// Bytes 0x21...0x7E only: survive the firmware's `%s` print and a tty left in cooked mode.
    case printable
    /// All 256 byte values.
    case binary
}

public struct LinkTimeouts: Sendable, Codable, Equatable {
    /// No echo progress for this long while messages are outstanding: the link hangs.
    public var hangTimeout: SoakDuration
    /// A message not echoed this long after it was sent is counted lost.
    public var lossTimeout: SoakDuration
    /// After the last phase: how long to wait for the echoes still in flight.
    public var drainTimeout: SoakDuration
    /// Opening the link device: how long to keep trying while it does not exist yet.
    public var openTimeout: SoakDuration
}

/// Limits a run must stay within to pass. nil: not checked.
public struct PassCriteria: Sendable, Codable, Equatable {
    public var maxLost: UInt64?
    public var maxCorrupted: UInt64?
    public var maxDuplicated: UInt64?
    public var maxOutOfOrder: UInt64?
    public var maxHangs: UInt64?
    public var maxLatencyP99: SoakDuration?
    public var maxLatency: SoakDuration?
    /// Fewer echoes than this and the run proves nothing: it fails.
    public var minEchoed: UInt64?
    /// Bytes outside any verified frame (after the bytes waiting at open were drained). Absent
    /// in profiles stored by earlier versions: not checked there.
    public var maxStrayBytes: UInt64? = nil
    /// Each phase with a rate (or bursts) must send at least this share of the messages it asks
    /// for, in the time it soaked (recoveries and gaps left out). Absent in profiles stored by
    /// earlier versions: not checked there.
    public var minRateRatio: Double? = nil

    public static let strict = PassCriteria(maxLost: 0, maxCorrupted: 0, maxDuplicated: 0, maxOutOfOrder: 0,
                                            maxHangs: 0, maxLatencyP99: nil, maxLatency: nil, minEchoed: 1,
                                            maxStrayBytes: 0, minRateRatio: 0.95)
}

/// As in the profile: a number of messages per second, or "max".
extension Rate: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let r = try? c.decode(Double.self) { self = .perSecond(r); return }
        guard try c.decode(String.self) == "max" else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a rate or 'max'")
        }
        self = .max
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .perSecond(let r): try c.encode(r)
        case .max: try c.encode("max")
        }
    }
}

/// As in the profile: a number, a list, {uniform: {min, max}} or {sweep: {from, to, step}}.
extension SizeSpec: Codable {
    private struct Uniform: Codable { var min: Int; var max: Int }
    private struct Sweep: Codable { var from: Int; var to: Int; var step: Int }
    private struct Tagged: Codable { var uniform: Uniform?; var sweep: Sweep? }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) { self = .fixed(n); return }
        if let l = try? c.decode([Int].self) { self = .list(l); return }
        let t = try c.decode(Tagged.self)
        if let u = t.uniform { self = .uniform(min: u.min, max: u.max); return }
        if let s = t.sweep { self = .sweep(from: s.from, to: s.to, step: s.step); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a size")
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .fixed(let n): try c.encode(n)
        case .list(let l): try c.encode(l)
        case .uniform(let lo, let hi): try c.encode(Tagged(uniform: Uniform(min: lo, max: hi)))
        case .sweep(let a, let b, let st): try c.encode(Tagged(sweep: Sweep(from: a, to: b, step: st)))
        }
    }
}
