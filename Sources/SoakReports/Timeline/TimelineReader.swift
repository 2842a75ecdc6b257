import Foundation
import Glibc
import SoakCore

/// Reads a timeline back, line by line: an event is handed on and dropped before the next line
/// is read, so a 12-hour timeline costs the memory of its longest line, not of the file (issue
/// 14). A torn last line (the tester was killed mid-write) is skipped and reported; a broken line
/// elsewhere is an error naming its line number.
public enum TimelineReader {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var reason: String
        public var description: String { line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)" }
    }

    /// Every event of the file in memory: for what needs the timeline whole (the disk full
    /// path, tests). The reports and `run --resume` read it with `forEach` instead.
    public static func read(path: String) throws(Failure) -> (events: [Event], warnings: [String]) {
        var events: [Event] = []
        let warnings = try forEach(path: path) { events.append($0) }
        return (events, warnings)
    }

    /// Hands every event of the file to `body` in order, and returns the warnings (a torn last
    /// line). A broken line is known to be the last only at the end of the file: it is held
    /// until a line follows it (an error then) or nothing does (a warning).
    public static func forEach(path: String, _ body: (Event) -> Void) throws(Failure) -> [String] {
        let unreadable = Failure(path: path, line: 0, reason: "cannot read the timeline (no such file?)")
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw unreadable }
        defer { Glibc.close(fd) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var lineNumber = 0
        var events = 0
        var broken: (line: Int, error: Error)?

        func take(_ line: Data) throws(Failure) {
            lineNumber += 1
            guard !line.isEmpty else { return }
            if let broken {
                throw Failure(path: path, line: broken.line, reason: "not a timeline event (\(ErrorText.reason(broken.error)))")
            }
            let event: Event
            do {
                event = try decoder.decode(Event.self, from: line)
            } catch {
                broken = (lineNumber, error)
                return
            }
            events += 1
            body(event)
        }

        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var line = Data()
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw unreadable
            }
            if n == 0 { break }
            var from = 0
            while from < n {
                guard let newline = chunk[from..<n].firstIndex(of: 0x0A) else { break }
                line.append(contentsOf: chunk[from..<newline])
                try take(line)
                line.removeAll(keepingCapacity: true)
                from = newline + 1
            }
            line.append(contentsOf: chunk[from..<n])
        }
        // What follows the last newline (usually nothing) is a line too, as in split(separator:).
        try take(line)
        var warnings: [String] = []
        if let broken {
            warnings.append("\(path):\(broken.line): last line is incomplete (the run was cut off while writing it); ignored")
        }
        if events == 0 { throw Failure(path: path, line: 0, reason: "the timeline holds no events") }
        return warnings
    }
}

/// A timeline to fold, as many times as the fold needs to go over it: the file (read again from
/// disk each time, line by line) or events already in memory (the disk-full path, tests).
public enum TimelineSource {
    case file(path: String)
    case events([Event], warnings: [String])

    /// Hands every event to `body` in order; returns the reader's warnings.
    func forEach(_ body: (Event) -> Void) throws(TimelineReader.Failure) -> [String] {
        switch self {
        case .file(let path):
            return try TimelineReader.forEach(path: path, body)
        case .events(let events, let warnings):
            for e in events { body(e) }
            return warnings
        }
    }
}
