import Foundation

/// Durations in profiles and board files: `500ms`, `30s`, `5m`, `12h`, `1h30m`, `250us`,
/// or a bare number of seconds. Kept as integer nanoseconds so schedules do not drift.
public struct SoakDuration: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    public static func seconds(_ s: Double) -> SoakDuration { SoakDuration(nanoseconds: UInt64((s * 1e9).rounded())) }
    public static func milliseconds(_ ms: UInt64) -> SoakDuration { SoakDuration(nanoseconds: ms * 1_000_000) }

    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (a: SoakDuration, b: SoakDuration) -> Bool { a.nanoseconds < b.nanoseconds }

    private static let units: [(suffix: String, ns: Double)] = [
        ("ms", 1e6), ("us", 1e3), ("ns", 1), ("h", 3600e9), ("m", 60e9), ("s", 1e9),
    ]

    /// Parses a duration; nil when the text is not one. Negative values are rejected by the caller
    /// with a message of its own, so "-5s" parses as nil here too.
    /// - requireUnit: a bare number is no duration (the command line, like the files: `500`
    ///   could be ms or s).
    public static func parse(_ text: String, requireUnit: Bool = false) -> SoakDuration? {
        let s = text.trimmingCharacters(in: .whitespaces)
        if s.isEmpty { return nil }
        if let plain = Double(s) { return !requireUnit && plain >= 0 && plain.isFinite ? fitting(plain * 1e9) : nil }
        var total = 0.0
        var rest = Substring(s)
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else { return nil }
            rest = rest.dropFirst(unit.suffix.count)
            total += value * unit.ns
        }
        return fitting(total)
    }

    /// nil when `ns` does not fit in UInt64 nanoseconds (about 584 years): converting it would trap.
    private static func fitting(_ ns: Double) -> SoakDuration? {
        guard ns.isFinite, ns >= 0, ns.rounded() < 0x1p64 else { return nil }
        return SoakDuration(nanoseconds: UInt64(ns.rounded()))
    }

    public var description: String {
        let ns = nanoseconds
        if ns == 0 { return "0s" }
        if ns % 3_600_000_000_000 == 0 { return "\(ns / 3_600_000_000_000)h" }
        if ns % 60_000_000_000 == 0 { return "\(ns / 60_000_000_000)m" }
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns % 1_000 == 0 { return "\(ns / 1_000)us" }
        return "\(ns)ns"
    }

    /// On the timeline and in summaries a duration reads as a person writes it ("30s", "500ms").
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let ns = try? c.decode(UInt64.self) {
            nanoseconds = ns
        } else if let d = SoakDuration.parse(try c.decode(String.self)) {
            self = d
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a duration")
        }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
