/// Where the board's kernel log read over ssh goes on from, across the sessions of one run:
/// which records of /dev/kmsg to skip (the ones from before the run's start, the ones already
/// delivered before a reconnect) and which byte of a followed file to start at. Pure: the
/// reader feeds it each session's header and each record; it says what to do.
///
/// /dev/kmsg (`cat` there starts at the oldest record the ring still holds):
/// - First session: records stamped (µs since boot) before the board's uptime in the header are
///   history and skipped, but only during the first burst (`burst` after the header): a board
///   whose printk clock lags its uptime (it was suspended) would otherwise lose every record.
/// - A later session of the same boot (same boot id): records up to the last one delivered
///   are skipped; a sequence gap after it means records were overwritten meanwhile.
/// - Another boot id (the board rebooted, a power cycle): the new boot's records from its start.
///
/// A file (`tail -c +N -f` there): the first session starts at the file's size then (older
/// lines skipped); a later one right after the bytes already received, or at the start of a
/// file that is now smaller than that.
public struct KmsgResume: Sendable {
    /// How long after the first header the history burst is taken to last.
    public static let burst: UInt64 = 2_000_000_000

    /// The first line of every session, written by the board's shell before `cat` or `tail`.
    public enum Header: Sendable, Equatable {
        /// `rpmsg-soak-kmsg device BOOT_ID UPTIME`: a character device (/dev/kmsg).
        case device(bootID: String, uptimeMicros: UInt64)
        /// `rpmsg-soak-kmsg file SIZE FROM`: a regular file, followed from byte offset FROM.
        case file(size: UInt64, from: UInt64)
    }

    public enum Decision: Sendable, Equatable {
        case skip
        /// Deliver it; `missed` records were lost before it (a sequence gap).
        case deliver(missed: UInt64)
    }

    public static let headerWord = "rpmsg-soak-kmsg"

    public private(set) var bootID: String?
    public private(set) var lastDelivered: UInt64?
    /// The byte of the followed file read next (absolute), where the next session's `tail`
    /// starts (the board's shell starts at 0 when the file is now smaller); nil before the
    /// first session (which starts at the file's end).
    public private(set) var fileOffset: UInt64?
    /// Records of this boot stamped before this are history (during a burst).
    private var cutMicros: UInt64?
    private var burstUntil: UInt64 = 0
    private var sequence = KmsgSequence()

    public init() {}

    /// Parses a header line; nil when it is not one.
    public static func parseHeader(_ line: String) -> Header? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 3, words[0] == headerWord else { return nil }
        switch words[1] {
        case "device":
            guard words.count >= 4, let micros = micros(fromSeconds: words[3]) else { return nil }
            return .device(bootID: String(words[2]), uptimeMicros: micros)
        case "file":
            guard words.count >= 4, let size = UInt64(words[2]), let from = UInt64(words[3]) else { return nil }
            return .file(size: size, from: from)
        default:
            return nil
        }
    }

    /// `12345.67` (seconds, as /proc/uptime says) in microseconds.
    static func micros(fromSeconds text: Substring) -> UInt64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = UInt64(parts[0]), whole < UInt64.max / 1_000_000 else { return nil }
        var fraction: UInt64 = 0
        if parts.count == 2 {
            let digits = parts[1].prefix(6)
            guard digits.allSatisfy(\.isASCII), let f = UInt64(digits.isEmpty ? "0" : String(digits)) else { return nil }
            fraction = f
            for _ in digits.count..<6 { fraction *= 10 }
        }
        return whole * 1_000_000 + fraction
    }

    // MARK: /dev/kmsg

    /// A session on a character device began: its header arrived at `at` (monotonic ns).
    /// Returns true when it is another boot than the previous session's.
    @discardableResult
    public mutating func connected(bootID: String, uptimeMicros: UInt64, at: UInt64) -> Bool {
        defer { self.bootID = bootID }
        guard let previous = self.bootID else {
            cutMicros = uptimeMicros
            burstUntil = at &+ Self.burst
            return false
        }
        if previous != bootID {
            // Rebooted: the new boot's log from its start.
            cutMicros = nil
            lastDelivered = nil
            sequence = KmsgSequence()
            return true
        }
        // The same boot, nothing delivered yet: the first session's history cut still holds.
        if lastDelivered == nil && cutMicros != nil { burstUntil = at &+ Self.burst }
        return false
    }

    /// What to do with a record (its sequence number and timestamp) read at `at`.
    public mutating func decide(seq: UInt64, micros: UInt64, at: UInt64) -> Decision {
        if let last = lastDelivered, seq <= last { return .skip }
        if let cut = cutMicros, at < burstUntil, micros < cut { return .skip }
        let missed = sequence.observe(seq)
        lastDelivered = seq
        return .deliver(missed: missed)
    }

    // MARK: a file

    /// A session on a file began at byte `from`; returns true when that is not where the last
    /// one stopped (the file was truncated or replaced: a partial line held is not continued).
    @discardableResult
    public mutating func connected(fileFrom from: UInt64) -> Bool {
        defer { fileOffset = from }
        guard let previous = fileOffset else { return false }
        return previous != from
    }

    /// `count` bytes of the file were received.
    public mutating func received(_ count: Int) {
        fileOffset = (fileOffset ?? 0) &+ UInt64(count)
    }
}
