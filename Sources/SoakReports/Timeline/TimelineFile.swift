import Foundation
import Glibc
import SoakCore

/// `events.jsonl`: one JSON object per line, appended and handed to the kernel at once, so a
/// crash or a kill loses at most the line being written.
public final class TimelineWriter: EventSink {
    public let path: String
    private let fd: Int32
    private let encoder: JSONEncoder

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                             NSLocalizedDescriptionKey: "cannot create \(path): \(String(cString: strerror(errno)))"])
        }
        encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    deinit { close(fd) }

    public func emit(_ event: Event) {
        guard var data = try? encoder.encode(event) else { return }
        data.append(0x0A)
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue } else { return } }
                off += n
            }
        }
    }

    /// fsync: the timeline survives a power loss of the host too.
    public func sync() { fsync(fd) }
}

/// Reads a timeline back. A torn last line (the tester was killed mid-write) is skipped and
/// reported; a broken line elsewhere is an error naming its line number.
public enum TimelineReader {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var reason: String
        public var description: String { line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)" }
    }

    public static func read(path: String) throws(Failure) -> (events: [Event], warnings: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(path: path, line: 0, reason: "cannot read the timeline (no such file?)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var events: [Event] = []
        var warnings: [String] = []
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() where !line.isEmpty {
            do {
                events.append(try decoder.decode(Event.self, from: Data(line)))
            } catch {
                let isLast = lines[(i + 1)...].allSatisfy { $0.isEmpty }
                if isLast {
                    warnings.append("\(path):\(i + 1): last line is incomplete (the run was cut off while writing it); ignored")
                } else {
                    throw Failure(path: path, line: i + 1, reason: "not a timeline event: \(error)")
                }
            }
        }
        if events.isEmpty { throw Failure(path: path, line: 0, reason: "the timeline holds no events") }
        return (events, warnings)
    }
}
