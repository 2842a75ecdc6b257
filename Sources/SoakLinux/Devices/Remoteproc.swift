import Foundation
import Glibc
import SoakCore

/// Why a remoteproc file could not be read or written. `connectionLost`: ssh itself failed
/// (the board or the network went away), not the file.
public struct RemoteprocFileError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var connectionLost: Bool
    public init(_ reason: String, connectionLost: Bool = false) {
        self.reason = reason
        self.connectionLost = connectionLost
    }
    public var description: String { reason }
}

/// Where remoteproc's files are: this machine's sysfs, or the board's over ssh. The one seam
/// between `Remoteproc`'s state machine and the files it reads and writes.
public protocol RemoteprocFiles: Sendable {
    /// The remoteproc folder (`/sys/class/remoteproc/remoteproc0`), on whichever machine.
    var path: String { get }
    /// What messages call it: `remoteproc`, or `remoteproc on root@imx8mp-01`.
    var label: String { get }
    /// How often a wait reads the state again, in microseconds.
    var pollInterval: UInt32 { get }
    /// A file's text (`state`, `firmware`), untrimmed.
    func read(_ name: String, interrupted: () -> Bool) throws(RemoteprocFileError) -> String
    /// Replaces a file's text (`stop` to `state`).
    func write(_ text: String, to name: String, interrupted: () -> Bool) throws(RemoteprocFileError)
}

/// This machine's sysfs (the tester runs on the board), or the simulated board's folder.
public struct SysfsRemoteprocFiles: RemoteprocFiles {
    public let path: String
    public var label: String { "remoteproc" }
    public var pollInterval: UInt32 { 10_000 }

    public init(path: String) { self.path = path }

    public func read(_ name: String, interrupted: () -> Bool) throws(RemoteprocFileError) -> String {
        let p = "\(path)/\(name)"
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(p, .readOnly, options: .closeOnExec) } catch {
            throw RemoteprocFileError("cannot read \(p): \(error)")
        }
        defer { fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65_536 {
            let n: Int
            do { n = try chunk.withUnsafeMutableBytes { (b) throws(Errno) in try fd.read(into: b) } } catch {
                throw RemoteprocFileError("cannot read \(p): \(error)")
            }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func write(_ text: String, to name: String, interrupted: () -> Bool) throws(RemoteprocFileError) {
        let p = "\(path)/\(name)"
        let fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw RemoteprocFileError("cannot open \(p): \(describeErrno(errno))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw RemoteprocFileError("writing '\(text)' to \(p): \(describeErrno(errno))") }
    }
}

/// The board's sysfs, through the run's ssh connection: `cat 'PATH/state'` to read, `printf %s
/// 'stop' > 'PATH/state'` to write (busybox is enough), every path and text quoted for the
/// board's shell, each command bounded by `commandTimeout`.
public struct SshRemoteprocFiles: RemoteprocFiles {
    public let connection: SshConnection
    public let path: String
    public let commandTimeout: SoakDuration
    public var label: String { "remoteproc on \(connection.target.destination)" }
    /// Every read is an ssh session on the master: not as often as a local file.
    public var pollInterval: UInt32 { 100_000 }

    public init(connection: SshConnection, path: String, commandTimeout: SoakDuration = .seconds(15)) {
        self.connection = connection
        self.path = path
        self.commandTimeout = commandTimeout
    }

    static func readCommand(_ file: String) -> String { "cat \(SshConnection.shellQuoted(file))" }
    static func writeCommand(_ text: String, to file: String) -> String {
        "printf %s \(SshConnection.shellQuoted(text)) > \(SshConnection.shellQuoted(file))"
    }

    public func read(_ name: String, interrupted: () -> Bool) throws(RemoteprocFileError) -> String {
        let p = "\(path)/\(name)"
        return try run(Self.readCommand(p), failing: "cannot read \(p)", interrupted: interrupted)
    }

    public func write(_ text: String, to name: String, interrupted: () -> Bool) throws(RemoteprocFileError) {
        let p = "\(path)/\(name)"
        _ = try run(Self.writeCommand(text, to: p), failing: "writing '\(text)' to \(p)", interrupted: interrupted)
    }

    private func run(_ command: String, failing what: String, interrupted: () -> Bool) throws(RemoteprocFileError) -> String {
        let result: SshConnection.Result
        do { result = try connection.run(command, timeout: commandTimeout, interrupted: interrupted) } catch {
            throw RemoteprocFileError("connection to the board lost (\(error.reason))", connectionLost: true)
        }
        if result.status == 255 {
            let said = result.errors.isEmpty ? "" : ": \(Self.lastLine(result.errors))"
            throw RemoteprocFileError("connection to the board lost (ssh exit status 255\(said))", connectionLost: true)
        }
        guard result.status == 0 else { throw RemoteprocFileError("\(what): \(Self.cause(result.errors))") }
        return result.output
    }

    static func lastLine(_ text: String) -> String {
        String(text.split(whereSeparator: \.isNewline).last.map(String.init)?.prefix(200) ?? "")
    }

    /// The system's words at the end of a shell or tool message: `cat: can't open '/x/state': No
    /// such file or directory` (busybox), `sh: 1: cannot create /x/state: Directory nonexistent`
    /// (dash), `printf: write error: Invalid argument`: what follows the last ": ".
    static func cause(_ errors: String) -> String {
        let line = lastLine(errors)
        guard !line.isEmpty else { return "the command failed without a message" }
        return line.components(separatedBy: ": ").last ?? line
    }
}

/// The M7 through Linux's remoteproc sysfs (`/sys/class/remoteproc/remoteprocN`): `state` reads
/// offline, running, crashed or attached; writing `stop` or `start` to it stops or boots the
/// core; `firmware` names the file under /lib/firmware that `start` loads. One state machine for
/// every place the files are (`RemoteprocFiles`: local sysfs, or the board's over ssh).
public struct Remoteproc: Sendable {
    public let files: any RemoteprocFiles
    public var path: String { files.path }

    public init(path: String) { files = SysfsRemoteprocFiles(path: path) }
    public init(files: any RemoteprocFiles) { self.files = files }

    /// The current state, or why it cannot be read (the message names where: the host over ssh).
    public func readState(interrupted: () -> Bool = { false }) throws(RecoveryFailure) -> String {
        do { return try files.read("state", interrupted: interrupted).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
            throw RecoveryFailure("\(files.label): \(error.reason)")
        }
    }

    /// The current state, or nil when it cannot be read.
    public func state() -> String? { try? readState() }

    static let attachedReason = "the M7 was started by the boot loader (remoteproc state 'attached'): Linux did not load its firmware and cannot restart it"

    /// Why a restart is not possible, or nil when it is.
    public func unavailable() -> String? {
        let state: String
        do { state = try readState() } catch { return error.reason }
        if state == "attached" { return Self.attachedReason }
        return nil
    }

    /// stop (when running or crashed), then the firmware name, then start; waits for each
    /// state. Gives up at `timeout` per state, or when `interrupted` becomes true.
    public func restart(firmware: String?, timeout: SoakDuration, interrupted: () -> Bool) throws(RecoveryFailure) {
        if let reason = unavailable() { throw RecoveryFailure(reason) }
        if try readState(interrupted: interrupted) != "offline" {
            try write("stop", to: "state", interrupted: interrupted)
            try wait(for: "offline", timeout: timeout, interrupted: interrupted)
        }
        if let firmware { try write(firmware, to: "firmware", interrupted: interrupted) }
        try write("start", to: "state", interrupted: interrupted)
        try wait(for: "running", timeout: timeout, interrupted: interrupted)
    }

    private func write(_ text: String, to file: String, interrupted: () -> Bool) throws(RecoveryFailure) {
        do { try files.write(text, to: file, interrupted: interrupted) } catch {
            throw RecoveryFailure(interrupted() ? "interrupted" : "\(files.label): \(error.reason)")
        }
    }

    private func wait(for wanted: String, timeout: SoakDuration, interrupted: () -> Bool) throws(RecoveryFailure) {
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        while true {
            var now: String
            do { now = try files.read("state", interrupted: interrupted).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
                if interrupted() { throw RecoveryFailure("interrupted") }
                // The board or the network gone: no use waiting for a state.
                if error.connectionLost { throw RecoveryFailure("\(files.label): \(error.reason)") }
                now = "unreadable (\(error.reason))"
            }
            if now == wanted { return }
            if MonotonicClock.read() >= deadline {
                throw RecoveryFailure("\(files.label): \(path) is '\(now)', not '\(wanted)', after \(timeout)")
            }
            if interrupted() { throw RecoveryFailure("interrupted") }
            usleep(files.pollInterval)
        }
    }
}

/// The M7 through remoteproc sysfs, with the board file's firmware and timeout, as the
/// remoteproc-restart recovery step sees it.
public final class RemoteprocCore: RemoteCore {
    public let remoteproc: Remoteproc
    let firmware: String?
    let timeout: SoakDuration

    public init(_ remoteproc: Remoteproc, firmware: String?, timeout: SoakDuration) {
        self.remoteproc = remoteproc
        self.firmware = firmware
        self.timeout = timeout
    }

    public func unavailable() -> String? { remoteproc.unavailable() }

    public func restart(interrupted: @escaping () -> Bool) throws(RecoveryFailure) {
        try remoteproc.restart(firmware: firmware, timeout: timeout, interrupted: interrupted)
    }
}
