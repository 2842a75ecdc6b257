import Foundation

/// How a run is judged against a baseline (`rpmsg-soak compare`, `run --baseline`): the profile's
/// `gate:` block, each key optional.
///
///     gate:
///       latency_p50: off          # default off (shown, not judged)
///       latency_p99: +20%         # default +20%: p99 may grow by a fifth
///       latency_max: +50%         # default +100%
///       latency_floor: 200us      # default 100us: a latency change smaller than this never fails
///       messages_per_second: -10% # default -10%: throughput may drop by a tenth
///       failure_rate: p<0.05      # default p<0.05: link failures per hour of uptime, exact test
///       message_errors: p<0.05    # default p<0.05: lost+corrupted+duplicated+out of order per message
///       new_findings: fail        # default fail; warn or off
///
/// Every tolerance is `off` or a signed percentage whose sign is the direction that is worse.
public struct GateConfig: Sendable, Codable, Equatable {
    /// Largest allowed increase of a latency, in percent of the baseline; nil: not judged.
    public var latencyP50: Double?
    public var latencyP99: Double?
    public var latencyMax: Double?
    /// Latency changes of at most this many microseconds never count as a regression.
    public var latencyFloorMicros: UInt64
    /// Largest allowed drop of messages/s, in percent of the baseline; nil: not judged.
    public var messagesPerSecond: Double?
    /// Significance level of the exact tests of the failure rates; nil: not judged.
    public var failureRateAlpha: Double?
    public var messageErrorsAlpha: Double?
    public var newFindings: FindingsPolicy

    public enum FindingsPolicy: String, Sendable, Codable, Equatable, CaseIterable {
        /// A finding class the baseline never saw is a regression.
        case fail
        /// Listed, not a regression.
        case warn
        case off
    }

    public static let `default` = GateConfig(latencyP50: nil, latencyP99: 20, latencyMax: 100, latencyFloorMicros: 100,
                                             messagesPerSecond: 10, failureRateAlpha: 0.05, messageErrorsAlpha: 0.05,
                                             newFindings: .fail)

    public init(latencyP50: Double?, latencyP99: Double?, latencyMax: Double?, latencyFloorMicros: UInt64,
                messagesPerSecond: Double?, failureRateAlpha: Double?, messageErrorsAlpha: Double?, newFindings: FindingsPolicy) {
        self.latencyP50 = latencyP50; self.latencyP99 = latencyP99; self.latencyMax = latencyMax
        self.latencyFloorMicros = latencyFloorMicros; self.messagesPerSecond = messagesPerSecond
        self.failureRateAlpha = failureRateAlpha; self.messageErrorsAlpha = messageErrorsAlpha; self.newFindings = newFindings
    }

    public static let keys = ["latency_p50", "latency_p99", "latency_max", "latency_floor", "messages_per_second",
                              "failure_rate", "message_errors", "new_findings"]

    /// Which way a metric gets worse: latency up (`+20%`), throughput down (`-10%`).
    public enum Direction: Sendable { case up, down }

    /// `+20%` (up) or `-10%` (down), or `off` (nil). The sign must be the worse direction: a
    /// tolerance read the wrong way could never fail. The error text says what was expected.
    public static func parseTolerance(_ text: String, worse: Direction) -> Result<Double?, GateValueError> {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "off" { return .success(nil) }
        let sign: Character = worse == .up ? "+" : "-"
        let example = worse == .up ? "+20%" : "-10%"
        guard t.hasSuffix("%"), let first = t.first, first == "+" || first == "-",
              let v = Double(t.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)), v.isFinite else {
            return .failure(GateValueError("expected a signed percentage such as \(example), or off; found '\(text)'"))
        }
        guard first == sign else {
            return .failure(GateValueError("expected \(sign)N% (this metric gets worse as it \(worse == .up ? "grows" : "drops")), e.g. \(example); found '\(text)'"))
        }
        guard v >= 0, worse == .up || v < 100 else {
            return .failure(GateValueError("\(text) is out of range: expected \(worse == .up ? "+0% or more" : "-0% to -99.9%")"))
        }
        return .success(v)
    }

    /// `p<0.05`, or `off` (nil): the significance level of an exact test, above 0 and at most 0.5.
    public static func parseAlpha(_ text: String) -> Result<Double?, GateValueError> {
        let t = text.replacingOccurrences(of: " ", with: "")
        if t == "off" { return .success(nil) }
        guard t.hasPrefix("p<"), let v = Double(t.dropFirst(2)), v.isFinite else {
            return .failure(GateValueError("expected a significance level such as p<0.05, or off; found '\(text)'"))
        }
        guard v > 0 && v <= 0.5 else { return .failure(GateValueError("\(text): the level must be above 0 and at most 0.5")) }
        return .success(v)
    }

    public static func parseFindings(_ text: String) -> Result<FindingsPolicy, GateValueError> {
        guard let p = FindingsPolicy(rawValue: text.trimmingCharacters(in: .whitespaces)) else {
            return .failure(GateValueError("expected fail, warn or off; found '\(text)'"))
        }
        return .success(p)
    }

    /// A duration with a unit (`100us`, `1ms`), in microseconds.
    public static func parseFloor(_ text: String) -> Result<UInt64, GateValueError> {
        guard let d = SoakDuration.parse(text.trimmingCharacters(in: .whitespaces), requireUnit: true) else {
            return .failure(GateValueError("expected a duration with a unit such as 100us or 1ms; found '\(text)'"))
        }
        return .success(d.nanoseconds / 1_000)
    }

    /// Sets `key` (a YAML key of the block, also the name of the flag with dashes) from `text`.
    public mutating func set(_ key: String, _ text: String) throws(GateValueError) {
        func get<T>(_ r: Result<T, GateValueError>) throws(GateValueError) -> T {
            switch r {
            case .success(let v): return v
            case .failure(let e): throw e
            }
        }
        switch key {
        case "latency_p50": latencyP50 = try get(Self.parseTolerance(text, worse: .up))
        case "latency_p99": latencyP99 = try get(Self.parseTolerance(text, worse: .up))
        case "latency_max": latencyMax = try get(Self.parseTolerance(text, worse: .up))
        case "latency_floor": latencyFloorMicros = try get(Self.parseFloor(text))
        case "messages_per_second": messagesPerSecond = try get(Self.parseTolerance(text, worse: .down))
        case "failure_rate": failureRateAlpha = try get(Self.parseAlpha(text))
        case "message_errors": messageErrorsAlpha = try get(Self.parseAlpha(text))
        case "new_findings": newFindings = try get(Self.parseFindings(text))
        default: throw GateValueError("unknown key; expected one of: \(Self.keys.joined(separator: ", "))")
        }
    }
}

/// A gate value that cannot be read; the loader adds file, line and column.
public struct GateValueError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension ConfigLoader {
    /// The profile's `gate:` block over the defaults.
    static func parseGate(_ node: YAMLReader) throws(ConfigError) -> GateConfig {
        let m = try node.mapping(allowed: GateConfig.keys)
        var gate = GateConfig.default
        for key in GateConfig.keys {
            guard let v = m.optional(key) else { continue }
            let text = try v.string()
            do {
                try gate.set(key, text)
            } catch {
                throw v.error(error.message)
            }
        }
        return gate
    }

    /// A gate block from a profile file, for `compare --profile`: the defaults when it has none.
    public static func loadGate(profilePath: String) throws(ConfigError) -> GateConfig {
        try loadProfile(path: profilePath).gate ?? .default
    }
}
