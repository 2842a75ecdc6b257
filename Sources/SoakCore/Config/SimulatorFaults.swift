import Foundation

/// The ways the simulated i.MX8M Plus can fail (DOMAIN.md), each with a mean time between
/// faults. A board file lists them under `simulator.faults`; `rpmsg-soak sim --faults` takes
/// the same as text: `kick-halt:mtbf=20s,corrupt:mtbf=5s`.
public struct FaultSpec: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Mailbox kick timeout with the M7 halted (core stopped or clock-gated): the UART falls
        /// silent, every later send logs `imx_rproc_kick: failed (1, err:-62)`. Power cycle only.
        case kickHalt = "kick-halt"
        /// Kick timeout with the M7 alive (MU interrupt masked or starved): the UART heartbeat
        /// goes on, the echo stops, every send logs the kick failure. Power cycle only.
        case kickAlive = "kick-alive"
        /// `assert` in the firmware: the NXP `ASSERT ERROR ...` line, then the core spins.
        case assert
        /// HardFault: the SDK's default handler loops without a word; as kick-halt on the outside.
        case hardfault
        /// One message dropped silently, as a full queue drops it.
        case drop
        /// One echoed message with one byte changed.
        case corrupt
        /// The tty disappears (driver removed: a hang-up for the tester) and comes back after `down`.
        case hangup
        /// Echoes held back for `spike` (a long ISR, a busy core), then delivered.
        case latency

        /// Faults after which the core no longer services its mailbox until power is cycled.
        public var haltsLink: Bool { self == .kickHalt || self == .kickAlive || self == .assert || self == .hardfault }
    }

    public var kind: Kind
    /// Mean time between faults (exponentially distributed, seeded), counted from power-on.
    public var mtbf: SoakDuration
    /// For `hangup`: how long the tty stays away.
    public var down: SoakDuration
    /// For `latency`: how long echoes are held back.
    public var spike: SoakDuration

    public init(kind: Kind, mtbf: SoakDuration, down: SoakDuration = .seconds(2), spike: SoakDuration = .milliseconds(500)) {
        self.kind = kind; self.mtbf = mtbf; self.down = down; self.spike = spike
    }

    /// Parses `kind:mtbf=20s[:down=2s][:spike=500ms]`, several separated by commas.
    public static func parseList(_ text: String) throws(ConfigError) -> [FaultSpec] {
        var out: [FaultSpec] = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let parts = item.split(separator: ":").map(String.init)
            func fail(_ m: String) -> ConfigError { ConfigError(file: "--faults", line: 0, column: 0, key: item, message: m) }
            guard let kind = Kind(rawValue: parts[0]) else {
                throw fail("unknown fault '\(parts[0])'; expected one of: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var spec = FaultSpec(kind: kind, mtbf: .seconds(0))
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let d = SoakDuration.parse(kv[1], requireUnit: true), d.nanoseconds > 0 else {
                    throw fail("expected key=duration with a unit, such as mtbf=20s (a bare 20 could be ms or s), found '\(p)'")
                }
                switch kv[0] {
                case "mtbf": spec.mtbf = d
                case "down": spec.down = d
                case "spike": spec.spike = d
                default: throw fail("unknown setting '\(kv[0])'; expected mtbf, down or spike")
                }
            }
            if spec.mtbf.nanoseconds == 0 { throw fail("mtbf is missing: \(kind.rawValue):mtbf=20s") }
            out.append(spec)
        }
        return out
    }
}

/// When each fault strikes: exponential gaps drawn from a seeded generator per fault, in board
/// time (nanoseconds since power-on). The same seed gives the same times.
public struct FaultClock: Sendable {
    public let specs: [FaultSpec]
    private var states: [UInt64]
    public private(set) var nextAt: [UInt64]

    public init(specs: [FaultSpec], seed: UInt64, powerOnAt: UInt64 = 0) {
        self.specs = specs
        states = specs.indices.map { seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64($0 + 1) &* 0xD6E8_FEB8_6659_FD93 }
        nextAt = []
        for i in specs.indices { nextAt.append(powerOnAt &+ draw(i)) }
    }

    /// An exponential gap with the fault's mean.
    private mutating func draw(_ i: Int) -> UInt64 {
        let r = SplitMix64.next(&states[i])
        let u = (Double(r >> 11) + 0.5) / Double(1 << 53)  // in (0, 1)
        return UInt64(-Double(specs[i].mtbf.nanoseconds) * log(u))
    }

    /// The earliest pending fault time.
    public var earliest: UInt64? { nextAt.min() }

    /// Faults due at `now`, each rescheduled after it fires.
    public mutating func due(now: UInt64) -> [FaultSpec] {
        var fired: [FaultSpec] = []
        for i in specs.indices where nextAt[i] <= now {
            fired.append(specs[i])
            nextAt[i] = nextAt[i] &+ draw(i)
        }
        return fired
    }
}
