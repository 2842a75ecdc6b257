import Foundation

/// Warnings while a run goes on (a full disk, a UART that cannot be opened): one line each on
/// stderr, after whatever shares the terminal (the status line) has made room for it.
public enum Warnings {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var makeRoom: (@Sendable () -> Void)?

    /// Called before each warning is written (the status line takes itself off until its next
    /// redraw); nil: nothing to make room for.
    public static func setMakeRoom(_ f: (@Sendable () -> Void)?) {
        lock.withLock { makeRoom = f }
    }

    /// `rpmsg-soak: warning: TEXT` on stderr.
    public static func write(_ text: String) {
        lock.withLock {
            makeRoom?()
            FileHandle.standardError.write(Data("rpmsg-soak: warning: \(text)\n".utf8))
        }
    }
}
