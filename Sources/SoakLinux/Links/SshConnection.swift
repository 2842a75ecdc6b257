import Foundation
import Glibc
import SoakCore

/// One ssh connection to the board for a whole run (OpenSSH's ControlMaster, its socket in a
/// private folder): the link, every reopen, the kernel log reader, remoteproc and the setup
/// commands ride on it without a new handshake. It ends when the last part holding it lets go,
/// or when this process dies (its standard input is a pipe from us: the remote `cat` that
/// keeps it open then sees the end).
///
/// Thread-safe: the runner (link, recovery) and the kernel log's reader thread share it. One
/// master at a time; a caller that finds one starting waits for it under its own deadline.
public final class SshConnection: @unchecked Sendable {
    public let target: SshTarget
    /// How often ssh checks that the board still answers (ServerAliveInterval); three missed
    /// answers end the connection, which a run sees as "connection to the board lost".
    public let aliveInterval: Int

    private let lock = NSLock()
    private var directory: String?
    private var master: ChildProcess?
    private var masterInput: FileDescriptor?
    private var sessions = 0

    public init(target: SshTarget, aliveInterval: Int = 2) {
        self.target = target
        self.aliveInterval = aliveInterval
    }

    deinit { close() }

    static let ssh = "/usr/bin/ssh"

    /// What OpenSSH says when trying again is no use (as opposed to a board still booting:
    /// connection refused, timed out, no route).
    static let permanentFailures = ["Permission denied", "Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED",
                                    "Could not resolve hostname", "Bad configuration option", "command-line line"]

    /// Whether ssh's message says that waiting cannot help.
    public static func isPermanent(_ reason: String) -> Bool { permanentFailures.contains(where: reason.contains) }

    /// The arguments of an ssh that runs `remote` on the board through the master. Ours before
    /// the user's where ours must win (ssh keeps the first value of an option); the user's
    /// before the keep-alive defaults, which they may override.
    func arguments(remote: String, master: Bool = false) -> [String] {
        arguments(unlocked: lock.withLock { directory } ?? "/nonexistent", remote: remote, master: master)
    }

    /// Starts the master connection unless it runs; waits until its socket is there. A master
    /// another thread is starting is waited for, not started twice.
    func startMaster(deadline: UInt64, interrupted: () -> Bool) throws(LinkOpenError) {
        var startedHere = false
        let errPath: String
        do {
            lock.lock()
            defer { lock.unlock() }
            if let master, master.poll() == nil, let directory {
                if access("\(directory)/master", F_OK) == 0 { return }
                // Another caller's master, still connecting: wait for it below.
            } else {
                try launchMaster()
                startedHere = true
            }
            errPath = "\(directory ?? "/tmp")/master.err"
        }
        while true {
            let state: (ended: ChildProcess.Termination?, up: Bool) = lock.withLock {
                guard let master, let directory else { return (.exited(255), false) }
                return (master.poll(), access("\(directory)/master", F_OK) == 0)
            }
            if state.up { return }
            if let end = state.ended {
                lock.withLock { stopMaster() }
                throw LinkOpenError(device: target.description,
                                    reason: "ssh to \(target.destination) failed (\(end)): \(Self.lastLine(ofFile: errPath) ?? "no message")")
            }
            if interrupted() || MonotonicClock.read() >= deadline {
                // Only the caller that started it gives up on it; another may still be waiting.
                if startedHere { lock.withLock { stopMaster() } }
                throw LinkOpenError(device: target.description, reason: "ssh to \(target.destination) did not connect: \(Self.lastLine(ofFile: errPath) ?? "no answer")")
            }
            usleep(10_000)
        }
    }

    /// Starts ssh as the master (lock held).
    private func launchMaster() throws(LinkOpenError) {
        stopMaster()
        let dir: String
        if let directory { dir = directory } else {
            var template = Array("/tmp/rpmsg-soak-ssh.XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw LinkOpenError(device: target.description, reason: "cannot make a private folder for the ssh connection: \(Errno.current)") }
            dir = String(cString: made)
            directory = dir
        }
        unlink("\(dir)/master")
        let input: (readEnd: FileDescriptor, writeEnd: FileDescriptor)
        do { input = try FileDescriptor.pipe() } catch { throw LinkOpenError(device: target.description, reason: "pipe: \(error)") }
        defer { input.readEnd.close() }
        do {
            master = try ChildProcess(Self.ssh, arguments(unlocked: dir, remote: "exec cat >/dev/null", master: true),
                                      stdin: .descriptor(input.readEnd), stdout: .null, stderr: .file("\(dir)/master.err"))
        } catch {
            input.writeEnd.close()
            throw LinkOpenError(device: target.description, reason: "cannot start \(Self.ssh): \(ErrorText.describe(error))")
        }
        masterInput = input.writeEnd
    }

    /// `arguments` with the folder given (while the lock is held).
    private func arguments(unlocked dir: String, remote: String, master: Bool) -> [String] {
        var args = ["-T", "-e", "none", "-o", "BatchMode=yes", "-o", "ControlPath=\(dir)/master",
                    "-o", "ControlMaster=\(master ? "yes" : "no")", "-o", "ControlPersist=no"]
        if master { args += ["-o", "ClearAllForwardings=yes"] }
        args += target.options
        args += ["-o", "ServerAliveInterval=\(aliveInterval)", "-o", "ServerAliveCountMax=3", "-o", "ConnectTimeout=10",
                 "--", target.destination, remote]
        return args
    }

    /// A private path for the next session's stderr (or another of its files).
    func nextSessionPath(_ suffix: String = "err") -> String {
        lock.withLock {
            sessions += 1
            return "\(directory ?? "/tmp")/session-\(sessions).\(suffix)"
        }
    }

    /// Ends the master (lock held).
    private func stopMaster() {
        guard let master else { return }
        // End of input first: ssh closes the connection politely; SIGTERM and then SIGKILL when not.
        masterInput?.close()
        masterInput = nil
        if master.wait(upTo: 200_000_000) == nil {
            master.signal(SIGTERM)
            if master.wait(upTo: 1_000_000_000) == nil { master.killAndReap() }
        }
        self.master = nil
    }

    /// Ends the master and removes its folder.
    public func close() {
        lock.withLock {
            stopMaster()
            if let directory {
                for name in (try? directoryEntries(directory)) ?? [] { unlink("\(directory)/\(name)") }
                rmdir(directory)
            }
            directory = nil
        }
    }

    // MARK: short commands on the board

    /// What a short command on the board did.
    public struct Result: Sendable {
        /// The remote command's exit status; 255 is ssh's own (the connection failed).
        public var status: Int32
        public var output: String
        /// Its stderr (and ssh's), trimmed.
        public var errors: String
    }

    /// Runs `remote` through the board's shell on the master connection (started when it is not
    /// up, within the same `timeout`) and collects its output (at most 64 KiB).
    /// - Throws: when ssh cannot connect, or the command outlives `timeout` (it is killed).
    public func run(_ remote: String, timeout: SoakDuration, interrupted: () -> Bool = { false }) throws(LinkOpenError) -> Result {
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        try startMaster(deadline: deadline, interrupted: interrupted)
        let outPath = nextSessionPath("out")
        let errPath = nextSessionPath("err")
        defer { unlink(outPath); unlink(errPath) }
        let child: ChildProcess
        do {
            child = try ChildProcess(Self.ssh, arguments(remote: remote), stdin: .null, stdout: .file(outPath), stderr: .file(errPath))
        } catch {
            throw LinkOpenError(device: target.description, reason: "cannot start \(Self.ssh): \(ErrorText.describe(error))")
        }
        while child.poll() == nil {
            if interrupted() || MonotonicClock.read() >= deadline {
                child.killAndReap()
                throw LinkOpenError(device: target.description,
                                    reason: interrupted() ? "interrupted" : "a command on \(target.destination) did not end within \(timeout)")
            }
            usleep(2_000)
        }
        let status: Int32
        switch child.status {
        case .exited(let code)?: status = code
        default: status = 255
        }
        return Result(status: status, output: Self.contents(ofFile: outPath),
                      errors: Self.contents(ofFile: errPath).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: files and words

    /// A file's text, at most `limit` bytes; "" when it cannot be read.
    static func contents(ofFile path: String, limit: Int = 65_536) -> String {
        guard let fd = try? FileDescriptor.open(path, .readOnly, options: .closeOnExec) else { return "" }
        defer { fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit, let n = try? chunk.withUnsafeMutableBytes({ (b) throws(Errno) in try fd.read(into: b) }), n > 0 {
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The last line ssh or the remote shell wrote to a stderr file, but for our own marker.
    static func lastLine(ofFile path: String) -> String? {
        let lines = contents(ofFile: path).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && $0 != SshLink.openMarker }
        return lines.last.map { String($0.prefix(200)) }
    }

    /// The whole stderr file (bounded), for the marker.
    static func lastRaw(_ path: String) -> String { contents(ofFile: path, limit: 1024) }

    /// `value` as one word for a POSIX shell: single-quoted, each `'` closed, escaped and reopened.
    public static func shellQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
