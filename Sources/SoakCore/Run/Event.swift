import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One entry of the run's timeline (`events.jsonl`). Everything a report says is derived from
/// these; per-message data is folded into interval snapshots, anomalies are listed one by one.
public struct Event: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case runStart = "run_start"
        case phaseStart = "phase_start"
        case linkOpen = "link_open"
        case interval
        case anomaly
        case hang
        case linkLost = "link_lost"
        case warning
        /// A rule matched a UART line or kernel record (or a heartbeat went missing).
        case finding
        /// A UART or kernel-log source opened, went away, overran or may not be read.
        case source
        /// A recovery step was tried.
        case recovery
        /// The tester switched the board's power outside a recovery step (at start, on exit).
        case power
        /// One action on the hardware inside a recovery step (power off, remoteproc start, reopen).
        case action
        /// A board farm's place: acquired, used as held, released (labgrid).
        case place
        /// Bytes already waiting in the link when it opened (a probe greeting, a previous run's
        /// echoes): read before the first send, kept here, not judged.
        case drained
        /// A flood outran uart.log or kernel.log: lines checked against every rule, none could
        /// match, counted here instead of kept.
        case linesNotKept = "lines_not_kept"
        /// `run --resume`: the run goes on after a gap (the tester stopped, crashed, or the
        /// machine running it rebooted).
        case resumed
        case runEnd = "run_end"
    }

    /// Seconds since the run started, on the monotonic clock.
    public var t: Double
    /// Wall-clock time, ISO 8601 UTC with milliseconds.
    public var wall: String
    public var type: Kind
    public var message: String?

    public var run: RunInfo?
    public var phase: PhaseMark?
    public var interval: IntervalSnapshot?
    public var anomaly: AnomalyRecord?
    public var failure: LinkFailure?
    public var finding: Finding?
    public var recovery: RecoveryRecord?
    public var action: ActionRecord?
    public var end: RunEnd?
    /// What the board said about itself (a `source` event): the firmware's banner line, the
    /// kernel's version.
    public var seen: BoardSeen?
    /// `lines_not_kept`: how many lines of which source, read between which times.
    public var notKept: LinesNotKept?
    /// `resumed`: how the previous part stopped and the gap.
    public var resumed: ResumeMark?

    public init(t: Double, wall: String, type: Kind, message: String? = nil) {
        self.t = t; self.wall = wall; self.type = type; self.message = message
    }
}

/// Lines a flood kept out of uart.log or kernel.log, read between `fromSeconds` and `toSeconds`
/// of the run. Each was checked against every rule first and could not match one.
public struct LinesNotKept: Codable, Sendable, Equatable {
    public var source: SourceLine.Source
    public var count: UInt64
    public var fromSeconds: Double
    public var toSeconds: Double

    public init(source: SourceLine.Source, count: UInt64, fromSeconds: Double, toSeconds: Double) {
        self.source = source; self.count = count; self.fromSeconds = fromSeconds; self.toSeconds = toSeconds
    }

    /// `uart: 46023 UART lines not kept in uart.log, read between 5.145 s and 6.005 s: ...`
    public var message: String {
        let (log, what) = source == .uart ? ("uart.log", "UART line") : ("kernel.log", "kernel record")
        return "\(source.rawValue): \(count) \(what)\(count == 1 ? "" : "s") not kept in \(log), read between "
            + String(format: "%.3f s and %.3f s", fromSeconds, toSeconds)
            + ": a flood outran the log; each was checked against every rule and could not match one"
    }
}

/// A fact about the board read from its UART or kernel log, first seen at the event's time.
public struct BoardSeen: Codable, Sendable, Equatable {
    public enum Key: String, Codable, Sendable {
        /// The firmware's banner: the first UART line matching the board file's `uart.ready`
        /// (without one, the NXP echo demo's banner).
        case firmware
        /// The kernel's release, from its `Linux version ...` boot line.
        case kernel
    }
    public var key: Key
    public var value: String

    public init(key: Key, value: String) { self.key = key; self.value = value }
}

public struct RunInfo: Codable, Sendable, Equatable {
    public var profile: Profile
    public var board: BoardConfig
    public var profilePath: String
    public var boardPath: String
    public var seed: UInt64
    public var host: String
    public var tool: String

    public init(profile: Profile, board: BoardConfig, profilePath: String, boardPath: String, seed: UInt64, host: String, tool: String) {
        self.profile = profile; self.board = board; self.profilePath = profilePath; self.boardPath = boardPath
        self.seed = seed; self.host = host; self.tool = tool
    }
}

public struct PhaseMark: Codable, Sendable, Equatable {
    public var index: Int
    public var name: String
}

/// Counters at the end of an interval (cumulative) and the latencies recorded during it.
public struct IntervalSnapshot: Codable, Sendable, Equatable {
    public var phase: String
    public var seconds: Double
    public var totals: Counters
    public var outstanding: Int
    /// Latencies of this interval in microseconds: [value, count] pairs, HdrHistogram buckets.
    public var latencyMicros: SparseBuckets
    /// How late scheduled sends left (actual minus due), microseconds, same encoding. Empty at
    /// rate `max`. Includes waits for a full window: it is the schedule the link really saw.
    public var scheduleLagMicros: SparseBuckets?
    /// Anomalies of this interval counted but not listed as events of their own.
    public var anomaliesNotListed: UInt64
    /// The network's own round trip during this interval (an idle echo over the ssh connection
    /// to a remote board), microseconds, same encoding; nil for a board on this machine.
    public var networkRoundTripMicros: SparseBuckets? = nil
}

public struct AnomalyRecord: Codable, Sendable, Equatable {
    public var kind: Anomaly.Kind
    /// For a stray run: the first frame after it, else the last verified one before it, else 0.
    public var seq: UInt64
    public var latencyMicros: UInt64?
    /// A stray run (kind `stray`): what it was, how many bytes, its first bytes in hex (at most
    /// 32), the last verified frame before it and the frame after it. Absent in other anomalies
    /// and in timelines of earlier versions.
    public var stray: StrayKind? = nil
    public var bytes: Int? = nil
    public var hex: String? = nil
    public var seqBefore: UInt64? = nil
    public var seqAfter: UInt64? = nil

    public init(kind: Anomaly.Kind, seq: UInt64, latencyMicros: UInt64?) {
        self.kind = kind; self.seq = seq; self.latencyMicros = latencyMicros
    }

    public init(_ a: Anomaly) {
        self.init(kind: a.kind, seq: a.seq, latencyMicros: a.latencyMicros > 0 ? a.latencyMicros : nil)
        if let r = a.stray {
            stray = r.kind; bytes = r.length; hex = r.hex; seqBefore = r.seqBefore; seqAfter = r.seqAfter
        }
    }
}

public struct LinkFailure: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case hang, linkLost = "link_lost"
        /// A rule with action `recover` fired (the kernel's kick failure, a firmware assert).
        case finding
    }
    public var kind: Kind
    public var reason: String
    /// Messages in flight when the failure was declared.
    public var outstanding: Int
    /// Messages counted lost after the last echo: they died with the link, and are counted
    /// unanswered instead of lost.
    public var lostBeforeFailure: UInt64
    public var lastSeqSent: UInt64?
    /// Seconds since the last echo arrived; nil when none ever did.
    public var sinceLastEcho: Double?
    public var messagesSinceStart: UInt64
    /// What the UART and the kernel said around the failure, the last frames, and the diagnosis.
    public var evidence: Evidence?
}

public struct RunEnd: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable {
        case completed
        /// The link failed and nothing recovers it (power: none).
        case linkFailed = "link_failed"
        case interrupted
        /// The hardware could not be reached: not the firmware's fault.
        case infrastructure
    }
    public var reason: Reason
    public var detail: String?
    public var totals: Counters
    public var seconds: Double
    /// The tester's own cost, measured at the run's end (`rpmsg-soak run` records it always);
    /// absent in timelines of earlier versions and of runs driven by tests.
    public var selfStats: SelfStats? = nil

    public init(reason: Reason, detail: String?, totals: Counters, seconds: Double) {
        self.reason = reason; self.detail = detail; self.totals = totals; self.seconds = seconds
    }
}

/// What the tester itself cost, from getrusage(2) (`measure()`, in SoakLinux): the whole process (every thread: the
/// runner, the UART and kernel-log readers) from its start, and the children it waited for
/// (power and remoteproc commands, ssh), if any.
public struct SelfStats: Codable, Sendable, Equatable {
    public var userSeconds: Double
    public var systemSeconds: Double
    public var voluntaryContextSwitches: UInt64
    public var involuntaryContextSwitches: UInt64
    /// The most resident memory the process ever had (ru_maxrss), bytes.
    public var peakRssBytes: UInt64
    /// CPU of the child processes waited for (RUSAGE_CHILDREN); nil when none used any.
    public var childrenUserSeconds: Double? = nil
    public var childrenSystemSeconds: Double? = nil

    public init(userSeconds: Double, systemSeconds: Double, voluntaryContextSwitches: UInt64, involuntaryContextSwitches: UInt64,
                peakRssBytes: UInt64, childrenUserSeconds: Double? = nil, childrenSystemSeconds: Double? = nil) {
        self.userSeconds = userSeconds; self.systemSeconds = systemSeconds
        self.voluntaryContextSwitches = voluntaryContextSwitches; self.involuntaryContextSwitches = involuntaryContextSwitches
        self.peakRssBytes = peakRssBytes
        self.childrenUserSeconds = childrenUserSeconds; self.childrenSystemSeconds = childrenSystemSeconds
    }
}

/// Where the runner puts events. The file writer lives in SoakReports.
public protocol EventSink: AnyObject {
    func emit(_ event: Event)
}

/// Keeps events in memory: for tests and for building reports without a file.
public final class MemoryEventSink: EventSink, @unchecked Sendable {
    public private(set) var events: [Event] = []
    public init() {}
    public func emit(_ event: Event) { events.append(event) }
}

public enum WallTime {
    /// `2026-12-01T21:02:14.578Z`: the string ISO8601DateFormatter gives with
    /// `[.withInternetDateTime, .withFractionalSeconds]` (milliseconds rounded as it rounds
    /// them), made with gmtime_r. The formatter loads ICU's locale and calendar data on Linux:
    /// about 4.5 MiB of the tester's resident memory, for one string per event.
    public static func iso8601(_ date: Date) -> String {
        let ms = Int64(((date.timeIntervalSinceReferenceDate + 978_307_200.0) * 1000.0 + 0.5).rounded(.down))
        var secs = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let frac = Int(ms - Int64(secs) * 1000)
        var t = tm()
        _ = gmtime_r(&secs, &t)
        var out = ""
        out.reserveCapacity(24)
        func put(_ v: Int, _ digits: Int) {
            var d = digits, div = 1
            while d > 1 { div *= 10; d -= 1 }
            var v = v
            if v >= div * 10 { out += String(v / (div * 10)); v %= div * 10 }
            while div > 0 { out.unicodeScalars.append(Unicode.Scalar(UInt8(48 + (v / div) % 10))); div /= 10 }
        }
        put(Int(t.tm_year) + 1900, 4); out += "-"; put(Int(t.tm_mon) + 1, 2); out += "-"; put(Int(t.tm_mday), 2)
        out += "T"; put(Int(t.tm_hour), 2); out += ":"; put(Int(t.tm_min), 2); out += ":"; put(Int(t.tm_sec), 2)
        out += "."; put(frac, 3); out += "Z"
        return out
    }

    /// The date of an `iso8601` text (with or without fractional seconds), read by hand with
    /// timegm like `iso8601` writes it (no ICU); another form of ISO 8601 goes to the formatter.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        if b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58, b.last == 90,
           let year = num(0, 4), let month = num(5, 2), let day = num(8, 2), let hour = num(11, 2), let minute = num(14, 2),
           let second = num(17, 2) {
            var fraction = 0.0
            if b.count > 20 {
                guard b[19] == 46, b.count - 21 >= 1, let f = num(20, b.count - 21) else { return fallback(text) }
                fraction = Double(f) / pow(10, Double(b.count - 21))
            } else if b[19] != 90 {
                return fallback(text)
            }
            var t = tm()
            t.tm_year = Int32(year - 1900); t.tm_mon = Int32(month - 1); t.tm_mday = Int32(day)
            t.tm_hour = Int32(hour); t.tm_min = Int32(minute); t.tm_sec = Int32(second)
            return Date(timeIntervalSince1970: Double(timegm(&t)) + fraction)
        }
        return fallback(text)
    }

    private static func fallback(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }
}
