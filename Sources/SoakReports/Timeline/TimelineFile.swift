import Foundation
import Glibc
import SoakCore

/// `events.jsonl`: one JSON object per line, appended and handed to the kernel at once, so a
/// crash or a kill loses at most the line being written. A thread of its own fsyncs the file
/// every `syncInterval` when something was written since (a power loss of the machine running
/// the tester loses at most that much); the thread that emits never waits for the disk.
///
/// A write that fails (a full disk, an I/O error) is said once through `warn` with the file and
/// the reason; the file is cut back to its last whole line and no longer written, and the
/// events from there on are kept in memory (`KeptEvents`: bounded, the important ones all,
/// interval snapshots merged) for the reports at the end (`RunFolder.writeReports(directory:timeline:)`).
public final class TimelineWriter: EventSink, @unchecked Sendable {
    public let path: String
    public let syncInterval: SoakDuration?
    private let fd: Int32
    private let encoder: JSONEncoder
    private let warn: @Sendable (String) -> Void
    /// Lock, file and flags shared with the syncing thread (which must not hold the writer:
    /// the writer's deinit stops it).
    private let shared: SyncState
    private var lock: NSCondition { shared.lock }
    /// Bytes of whole lines in the file.
    private var size: off_t
    private var syncerDone: DispatchSemaphore?
    /// Set by the first failed write: from then on events go to `kept`.
    private var failure: WriteFailure?
    private var kept = KeptEvents()

    /// The first write that failed: when, and why in plain words.
    public struct WriteFailure: Sendable, Equatable {
        public var atSeconds: Double
        public var errno: Int32
        public var reason: String
    }

    /// - syncInterval: fsync at least this often while events are written; nil: only on `sync()`.
    /// - warn: said once on the first failed write (default: a line on stderr).
    public init(path: String, syncInterval: SoakDuration? = .seconds(1),
                warn: @escaping @Sendable (String) -> Void = TimelineWriter.warnOnStderr) throws {
        self.path = path
        self.syncInterval = syncInterval
        self.warn = warn
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TimelineOpenError(path: path, reason: ErrorText.errnoText(errno))
        }
        var st = stat()
        size = fstat(fd, &st) == 0 ? st.st_size : 0
        shared = SyncState(fd: fd, path: path, warn: warn)
        encoder = EventLine.makeEncoder()
        if let every = syncInterval, every.nanoseconds > 0 { startSyncing(every: every) }
    }

    deinit { close() }

    public static let warnOnStderr: @Sendable (String) -> Void = { text in
        Warnings.write(text)
    }

    public func emit(_ event: Event) {
        guard var data = try? EventLine.encode(event, with: encoder) else { return }
        data.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        guard !shared.closed else { return }
        if failure != nil {
            kept.keep(event)
            return
        }
        let code: Int32? = data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                off += n
            }
            return nil
        }
        guard let code else {
            size += off_t(data.count)
            shared.dirty = true
            return
        }
        // A torn line in the middle would make the whole file unreadable: cut it back.
        _ = ftruncate(fd, size)
        let reason = ErrorText.errnoText(code)
        failure = WriteFailure(atSeconds: event.t, errno: code, reason: reason)
        let text = "cannot write \(path): \(reason); the soak goes on and keeps the timeline in memory from \(String(format: "%.1f", event.t)) s on (reports are built from it at the end)"
        let note = Event(t: event.t, wall: event.wall, type: .warning,
                         message: "events.jsonl could not be written from \(String(format: "%.1f", event.t)) s on: \(reason); the events from then on were kept in memory")
        kept.keep(event)
        kept.keep(note)
        warn(text)
    }

    /// fsync now: the timeline survives a power loss of the host too.
    public func sync() {
        lock.lock()
        let open = !shared.closed
        lock.unlock()
        if open { shared.flush() }
    }

    /// Stops the syncing thread, fsyncs and closes the file. Later events are ignored.
    public func close() {
        lock.lock()
        if shared.closed { lock.unlock(); return }
        let done = syncerDone
        lock.unlock()
        shared.flush()
        lock.lock()
        shared.closed = true
        lock.broadcast()
        lock.unlock()
        done?.wait()
        Glibc.close(fd)
    }

    /// nil while every event reached the file; else the first failure and what was kept in memory.
    public var lost: Loss? {
        lock.lock()
        defer { lock.unlock() }
        guard let failure else { return nil }
        return Loss(failure: failure, kept: kept.events, notWritten: kept.received, dropped: kept.dropped, merged: kept.merged)
    }

    /// What did not reach the file.
    public struct Loss: Sendable {
        public var failure: WriteFailure
        /// In order, from the first that could not be written (with a warning event saying so).
        public var kept: [Event]
        /// Events that could not be written (the warning note not counted).
        public var notWritten: Int
        /// Of those, dropped: past the bounds of the memory kept.
        public var dropped: Int
        /// Interval snapshots merged into their neighbour (no count or latency lost, only resolution).
        public var merged: Int
    }

    private func startSyncing(every: SoakDuration) {
        let done = DispatchSemaphore(value: 0)
        syncerDone = done
        let state = shared
        let thread = Thread {
            state.lock.lock()
            while !state.closed {
                _ = state.lock.wait(until: Date().addingTimeInterval(every.seconds))
                if state.closed { break }
                state.lock.unlock()
                state.flush()
                state.lock.lock()
            }
            state.lock.unlock()
            done.signal()
        }
        thread.name = "timeline-sync"
        thread.start()
    }
}

/// What the writer and its syncing thread share.
private final class SyncState: @unchecked Sendable {
    let lock = NSCondition()
    let fd: Int32
    let path: String
    let warn: @Sendable (String) -> Void
    /// Guarded by `lock`.
    var dirty = false
    var closed = false
    var failureSaid = false

    init(fd: Int32, path: String, warn: @escaping @Sendable (String) -> Void) {
        self.fd = fd; self.path = path; self.warn = warn
    }

    /// fsync if something was written since the last one; a failure is said once.
    func flush() {
        lock.lock()
        let was = dirty
        dirty = false
        lock.unlock()
        guard was else { return }
        if fsync(fd) != 0 {
            let code = errno
            lock.lock()
            let say = !failureSaid
            failureSaid = true
            lock.unlock()
            if say { warn("cannot flush \(path) to disk: \(ErrorText.errnoText(code))") }
        }
    }
}

/// The timeline file cannot be created.
public struct TimelineOpenError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot create \(path): \(reason)" }
}

/// Events that could not be written, kept in memory within bounds: every run start, phase,
/// link failure, recovery, warning and run end; findings and anomalies up to a number each
/// (then counted as dropped); interval snapshots merged pairwise into their neighbour of the
/// same phase when there are too many (totals and latency histograms stay exact; only the
/// charts' resolution drops).
struct KeptEvents {
    static let maxIntervals = 1024
    static let maxFindings = 5000
    static let maxAnomalies = 5000
    static let maxOthers = 20000

    private(set) var events: [Event] = []
    private(set) var received = 0
    private(set) var dropped = 0
    private(set) var merged = 0
    private var intervals = 0
    private var findings = 0
    private var anomalies = 0
    private var others = 0

    mutating func keep(_ event: Event) {
        let isNote = event.type == .warning && event.message?.hasPrefix("events.jsonl could not be written") == true
        if !isNote { received += 1 }
        switch event.type {
        case .interval:
            events.append(event)
            intervals += 1
            if intervals > Self.maxIntervals { thinIntervals() }
        case .finding:
            guard findings < Self.maxFindings else { dropped += 1; return }
            findings += 1
            events.append(event)
        case .anomaly:
            guard anomalies < Self.maxAnomalies else { dropped += 1; return }
            anomalies += 1
            events.append(event)
        case .runStart, .runEnd, .phaseStart:
            events.append(event)
        default:
            guard others < Self.maxOthers else { dropped += 1; return }
            others += 1
            events.append(event)
        }
    }

    /// Merges each pair of interval snapshots of the same phase (no phase start between them)
    /// into the later one.
    private mutating func thinIntervals() {
        var out: [Event] = []
        out.reserveCapacity(events.count)
        var pending: Int?
        for e in events {
            if e.type == .phaseStart { pending = nil }
            guard e.type == .interval, let s = e.interval else { out.append(e); continue }
            if let p = pending, let earlier = out[p].interval, earlier.phase == s.phase {
                var m = e
                m.interval = Self.merge(earlier, into: s)
                out.remove(at: p)
                out.append(m)
                merged += 1
                intervals -= 1
                pending = nil
            } else {
                out.append(e)
                pending = out.count - 1
            }
        }
        events = out
    }

    static func merge(_ a: IntervalSnapshot, into b: IntervalSnapshot) -> IntervalSnapshot {
        var m = b
        m.latencyMicros = mergeSparse(a.latencyMicros, b.latencyMicros)
        if a.scheduleLagMicros != nil || b.scheduleLagMicros != nil {
            m.scheduleLagMicros = mergeSparse(a.scheduleLagMicros ?? [], b.scheduleLagMicros ?? [])
        }
        if a.networkRoundTripMicros != nil || b.networkRoundTripMicros != nil {
            m.networkRoundTripMicros = mergeSparse(a.networkRoundTripMicros ?? [], b.networkRoundTripMicros ?? [])
        }
        m.anomaliesNotListed = a.anomaliesNotListed + b.anomaliesNotListed
        m.seconds = a.seconds + b.seconds
        return m
    }

    /// Two `[value, count]` lists as one, by value.
    static func mergeSparse(_ a: SparseBuckets, _ b: SparseBuckets) -> SparseBuckets {
        var counts: [UInt64: UInt64] = [:]
        for bucket in a { counts[bucket.value, default: 0] += bucket.count }
        for bucket in b { counts[bucket.value, default: 0] += bucket.count }
        var out = SparseBuckets()
        for v in counts.keys.sorted() { out.append(value: v, count: counts[v]!) }
        return out
    }
}
