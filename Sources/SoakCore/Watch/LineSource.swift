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
