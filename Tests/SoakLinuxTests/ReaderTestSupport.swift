import Foundation
import Glibc
import SoakCore
import SoakLinux

/// What a source delivered into a LineInbox, kept across drains.
final class Collected {
    let inbox: LineInbox
    private(set) var items: [LineInbox.Item] = []

    init(inbox: LineInbox = LineInbox()) { self.inbox = inbox }

    @discardableResult
    func refresh() -> Collected {
        items += inbox.drain()
        return self
    }

    var lines: [SourceLine] {
        items.compactMap { if case .line(let l) = $0 { return l } else { return nil } }
    }

    var notices: [SourceNotice] {
        items.compactMap { if case .notice(_, let n, _) = $0 { return n } else { return nil } }
    }

    func texts(_ source: SourceLine.Source? = nil) -> [String] {
        lines.filter { source == nil || $0.source == source }.map(\.text)
    }

    func count(of notice: (SourceNotice) -> Bool) -> Int { notices.filter(notice).count }

    /// Polls the inbox until `condition` holds or `timeout` seconds pass; true when it held.
    @discardableResult
    func waitFor(timeout: Double = 5, _ condition: (Collected) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            refresh()
            if condition(self) { return true }
            if Date() >= deadline { return false }
            usleep(5_000)
        }
    }

    /// `waitFor` for an async test: polls with Task.sleep, holding no thread of the test pool.
    @discardableResult
    func waitFor(timeout: Double = 5, _ condition: (Collected) -> Bool) async throws -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            refresh()
            if condition(self) { return true }
            if Date() >= deadline { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

extension SourceNotice {
    var isOpened: Bool { if case .opened = self { return true } else { return false } }
    var isLost: Bool { if case .lost = self { return true } else { return false } }
    var isOverrun: Bool { if case .overrun = self { return true } else { return false } }
    var isPermissionDenied: Bool { if case .permissionDenied = self { return true } else { return false } }
    var text: String {
        switch self {
        case .opened(let s), .lost(let s), .permissionDenied(let s): return s
        case .overrun(let missed): return "overrun \(missed)"
        }
    }
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TempDir {
    let path: String
    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        var template = Array("/tmp/rpmsg-soak-\(safe.prefix(40))-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
    func file(_ name: String) -> String { "\(path)/\(name)" }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Points `link` at `target` atomically (symlink to a temporary name, then rename(2)).
func repoint(_ link: String, to target: String) {
    let tmp = link + ".new"
    unlink(tmp)
    _ = symlink(target, tmp)
    _ = rename(tmp, link)
}

/// Appends `text` to the file at `path` (created 0644 if missing) with one write(2).
func append(_ text: String, to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return }
    _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

/// Writes all of `bytes` to the pty master, waiting for room (the reader drains the slave).
func writeAll(_ pty: PseudoTerminal, _ bytes: [UInt8], timeout: Double = 10) -> Bool {
    var offset = 0
    let deadline = Date(timeIntervalSinceNow: timeout)
    while offset < bytes.count {
        let n = pty.writeSome(bytes[offset...])
        offset += n
        if n == 0 {
            if Date() >= deadline { return false }
            _ = pty.wait(forWrite: true, timeout: 50_000_000)
        }
    }
    return true
}
