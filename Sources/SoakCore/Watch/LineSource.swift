import Foundation

/// A line from the M7 debug UART or a record from the kernel log, stamped where it was read.
public struct SourceLine: Sendable, Equatable {
    public enum Source: String, Codable, Sendable { case uart, kernel }
    public var source: Source
    /// Monotonic nanoseconds (the run's clock) when the bytes were read.
    public var at: UInt64
    /// The text: cut at a bounded length, ANSI escapes removed, other control bytes and invalid
    /// UTF-8 replaced, no line terminator.
    public var text: String
    /// Kernel records: syslog level (prio & 7) and facility (prio >> 3).
    public var level: Int?
    public var facility: Int?
    /// Kernel records: the kernel's sequence number and its own timestamp (microseconds since boot).
    public var kernelSeq: UInt64?
    public var kernelMicros: UInt64?

    public init(source: Source, at: UInt64, text: String, level: Int? = nil, facility: Int? = nil,
                kernelSeq: UInt64? = nil, kernelMicros: UInt64? = nil) {
        self.source = source; self.at = at; self.text = text; self.level = level; self.facility = facility
        self.kernelSeq = kernelSeq; self.kernelMicros = kernelMicros
    }
}

/// Something a source says about itself rather than a line.
public enum SourceNotice: Sendable, Equatable {
    /// Opened (again): the text names the device or file.
    case opened(String)
    /// The device went away (USB unplugged, board powered off); the source keeps trying to reopen.
    case lost(String)
    /// Kernel log records were overwritten before they were read.
    case overrun(missed: UInt64)
    /// Not allowed to read (for example /dev/kmsg without root where dmesg_restrict=1).
    case permissionDenied(String)
}

/// Where sources deliver. Called from the sources' own threads.
public protocol LineSink: AnyObject, Sendable {
    func line(_ line: SourceLine)
    func notice(_ source: SourceLine.Source, _ notice: SourceNotice, at: UInt64)
}

/// A UART or kernel log reader running on its own thread until stopped.
public protocol LineSource: AnyObject {
    var source: SourceLine.Source { get }
    func start(into sink: LineSink)
    func stop()
}

/// A bounded, thread-safe queue between the sources' threads and the runner's loop. When the
/// runner falls behind by `capacity` lines the oldest are dropped and counted, never blocking
/// a reader (a blocked UART reader would lose bytes in the kernel instead).
public final class LineInbox: LineSink, @unchecked Sendable {
    public enum Item: Sendable, Equatable {
        case line(SourceLine)
        case notice(SourceLine.Source, SourceNotice, at: UInt64)
    }
    private let lock = NSCondition()
    private var items: [Item] = []
    private let capacity: Int
    public private(set) var dropped: UInt64 = 0

    public init(capacity: Int = 20_000) { self.capacity = capacity }

    public func line(_ line: SourceLine) { push(.line(line)) }
    public func notice(_ source: SourceLine.Source, _ notice: SourceNotice, at: UInt64) { push(.notice(source, notice, at: at)) }

    private func push(_ item: Item) {
        lock.withLock {
            if items.count >= capacity {
                items.removeFirst(items.count / 10 + 1)
                dropped += UInt64(capacity / 10 + 1)
            }
            items.append(item)
            lock.signal()
        }
    }

    /// Waits until something is queued or `seconds` have passed.
    public func wait(seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        if items.isEmpty { _ = lock.wait(until: Date().addingTimeInterval(seconds)) }
    }

    /// Everything queued so far, oldest first.
    public func drain() -> [Item] {
        lock.withLock {
            let out = items
            items.removeAll(keepingCapacity: true)
            return out
        }
    }

    public var isEmpty: Bool { lock.withLock { items.isEmpty } }

    /// How many were dropped since the last call.
    public func takeDropped() -> UInt64 {
        lock.withLock {
            defer { dropped = 0 }
            return dropped
        }
    }
}
