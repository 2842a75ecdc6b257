import Glibc
import SoakCore

/// The board's RPMsg tty from a lab host, through the system's OpenSSH client: keys,
/// known_hosts, `~/.ssh/config`, jump hosts and proxies work as the user set them up, and
/// nothing is installed on the board. On the board only a shell, `stty` and `cat` run.
public final class SshLinkOpener: LinkOpener {
    public let connection: SshConnection

    public init(connection: SshConnection) { self.connection = connection }

    public var description: String { connection.target.description }

    /// Waits (up to `timeout`) until ssh answers and the tty on the board opens. A tty that is
    /// not there yet, or a board whose sshd does not answer yet, is tried again until then.
    public func open(timeout: SoakDuration, interrupted: @escaping () -> Bool) throws(LinkOpenError) -> Link {
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        var lastReason = "not tried"
        repeat {
            do {
                try connection.startMaster(deadline: deadline, interrupted: interrupted)
                return try SshLink(connection: connection, deadline: deadline, interrupted: interrupted)
            } catch {
                lastReason = error.reason
                // Waiting cannot fix a key the board refuses or a host key that does not match.
                if SshConnection.permanentFailures.contains(where: error.reason.contains) {
                    throw LinkOpenError(device: description, reason: error.reason)
                }
            }
            if interrupted() { break }
            usleep(200_000)
        } while MonotonicClock.read() < deadline
        throw LinkOpenError(device: description, reason: interrupted() ? "interrupted" : "\(lastReason) (tried for \(timeout))")
    }
}

/// One ssh connection to the board for a whole run (OpenSSH's ControlMaster, its socket in a
/// private folder): every reopen and setup command rides on it without a new handshake. It
/// ends when the last part holding it lets go, or when this process dies (its standard input
/// is a pipe from us: the remote `cat` that keeps it open then sees the end).
public final class SshConnection {
    public let target: SshTarget
    /// How often ssh checks that the board still answers (ServerAliveInterval); three missed
    /// answers end the connection, which a run sees as "connection to the board lost".
    public let aliveInterval: Int
    private var directory: String?
    private var master: ChildProcess?
    private var masterInput: FileDescriptor?

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

    /// The arguments of an ssh that runs `remote` on the board through the master. Ours before
    /// the user's where ours must win (ssh keeps the first value of an option); the user's
    /// before the keep-alive defaults, which they may override.
    func arguments(remote: String, master: Bool = false) -> [String] {
        let controlPath = (directory ?? "/nonexistent") + "/master"
        var args = ["-T", "-e", "none", "-o", "BatchMode=yes", "-o", "ControlPath=\(controlPath)",
                    "-o", "ControlMaster=\(master ? "yes" : "no")", "-o", "ControlPersist=no"]
        if master { args += ["-o", "ClearAllForwardings=yes"] }
        args += target.options
        args += ["-o", "ServerAliveInterval=\(aliveInterval)", "-o", "ServerAliveCountMax=3", "-o", "ConnectTimeout=10",
                 "--", target.destination, remote]
        return args
    }

    /// Starts the master connection unless it runs; waits until its socket is there.
    func startMaster(deadline: UInt64, interrupted: () -> Bool) throws(LinkOpenError) {
        if let master, master.poll() == nil, let directory, access("\(directory)/master", F_OK) == 0 { return }
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
        let errPath = "\(dir)/master.err"
        let child: ChildProcess
        do {
            child = try ChildProcess(Self.ssh, arguments(remote: "exec cat >/dev/null", master: true),
                                     stdin: .descriptor(input.readEnd), stdout: .null, stderr: .file(errPath))
        } catch {
            input.writeEnd.close()
            throw LinkOpenError(device: target.description, reason: "cannot start \(Self.ssh): \(error)")
        }
        master = child
        masterInput = input.writeEnd
        while access("\(dir)/master", F_OK) != 0 {
            if let end = child.poll() {
                stopMaster()
                throw LinkOpenError(device: target.description,
                                    reason: "ssh to \(target.destination) failed (\(end)): \(Self.lastLine(ofFile: errPath) ?? "no message")")
            }
            if interrupted() || MonotonicClock.read() >= deadline {
                stopMaster()
                throw LinkOpenError(device: target.description, reason: "ssh to \(target.destination) did not connect: \(Self.lastLine(ofFile: errPath) ?? "no answer")")
            }
            usleep(10_000)
        }
    }

    private var sessions = 0

    /// A private path for the next session's stderr.
    func nextSessionErrorPath() -> String {
        sessions += 1
        return "\(directory ?? "/tmp")/session-\(sessions).err"
    }

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
        stopMaster()
        if let directory {
            for name in (try? directoryEntries(directory)) ?? [] { unlink("\(directory)/\(name)") }
            rmdir(directory)
        }
        directory = nil
    }

    /// The last line ssh or the remote shell wrote to a stderr file, but for our own marker.
    static func lastLine(ofFile path: String) -> String? {
        guard let fd = try? FileDescriptor.open(path, .readOnly, options: .closeOnExec) else { return nil }
        defer { fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65_536, let n = try? chunk.withUnsafeMutableBytes({ (b) throws(Errno) in try fd.read(into: b) }), n > 0 {
            bytes += chunk[..<n]
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && $0 != SshLink.openMarker }
        return lines.last.map { String($0.prefix(200)) }
    }

    /// `value` as one word for a POSIX shell: single-quoted, each `'` closed, escaped and reopened.
    public static func shellQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The tty on the board, through one ssh session: our end of a socket pair that is the ssh
/// process's standard input and output. Non-blocking and timestamped at each system call like
/// `TtyLink`; the ssh process ending is the hang-up, and its exit status says whose end it was.
public final class SshLink: Link {
    /// A tty on the board is opened by `cat` there, which cannot make it exclusive.
    public let openedAs = "raw, over ssh"
    public let path: String
    private let process: ChildProcess
    /// nil once closed.
    private var socket: FileDescriptor?
    private let errorPath: String
    /// Why the session ended, once it did.
    private var endReason: String?

    /// The line the remote shell writes to stderr once the tty is open and raw.
    static let openMarker = "rpmsg-soak: tty open"

    /// The command the board's shell runs. The tty becomes the remote session's controlling
    /// terminal when the shell opens it, so SIGHUP is ignored: a tty that goes away must end
    /// `cat` with a read error and the shell with its status, not kill the shell by signal
    /// (which ssh reports as 255, the same as a dead connection). Each `cat` ends the other
    /// (`kill 0`, the session's process group): a `cat` left reading a tty whose session is
    /// gone would steal the echoes of the next one.
    static func remoteCommand(device: String) -> String {
        "trap '' HUP; D=\(SshConnection.shellQuoted(device)); stty -F \"$D\" raw -echo && exec 3<>\"$D\" 4<&0 && "
            + "printf '\(openMarker)\\n' >&2 || exit; "
            + "{ cat <&4 >&3; kill 0; } >/dev/null 2>&1 & cat <&3; s=$?; trap \"exit $s\" TERM; kill 0; exit $s"
    }

    init(connection: SshConnection, deadline: UInt64, interrupted: () -> Bool) throws(LinkOpenError) {
        let target = connection.target
        path = "\(target.destination):\(target.device)"
        errorPath = connection.nextSessionErrorPath()
        let ends: (FileDescriptor, FileDescriptor)
        do { ends = try FileDescriptor.socketPair() } catch { throw LinkOpenError(device: path, reason: "socketpair: \(error)") }
        defer { ends.1.close() }
        do {
            process = try ChildProcess(SshConnection.ssh, connection.arguments(remote: Self.remoteCommand(device: target.device)),
                                       stdin: .descriptor(ends.1), stdout: .descriptor(ends.1), stderr: .file(errorPath))
        } catch {
            ends.0.close()
            throw LinkOpenError(device: path, reason: "cannot start \(SshConnection.ssh): \(error)")
        }
        socket = ends.0
        // Open only once the board says the tty is open and raw: bytes sent before would meet
        // a cooked tty.
        while SshConnection.lastRaw(errorPath).contains(Self.openMarker) == false {
            if process.poll() != nil {
                let why = reason()
                close()
                throw LinkOpenError(device: path, reason: why)
            }
            if interrupted() || MonotonicClock.read() >= deadline {
                close()
                throw LinkOpenError(device: path, reason: "the tty on the board did not open in time")
            }
            usleep(5_000)
        }
    }

    deinit { close() }

    /// Kills and reaps the ssh session; the master and the remote `cat`s see the end.
    public func close() {
        process.killAndReap()
        socket?.close()
        socket = nil
    }

    public func wait(forWrite: Bool, timeout: UInt64) -> LinkReadiness {
        guard let socket else { return LinkReadiness(readable: false, writable: false, hangup: true) }
        guard let events = try? socket.poll(for: forWrite ? [.readable, .writable] : .readable, timeout: timeout) else {
            // The read that follows reports what is wrong.
            return LinkReadiness(readable: true, writable: false, hangup: false)
        }
        return LinkReadiness(readable: events.contains(.readable), writable: events.contains(.writable),
                             hangup: !events.isDisjoint(with: [.hangup, .error, .invalid]))
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> LinkIO {
        guard let socket else { return .hangup("closed") }
        do {
            let n = try socket.receiveNow(into: buffer)
            let at = MonotonicClock.read()
            if n > 0 { return .done(count: n, at: at) }
            return .hangup(reason())
        } catch {
            return Self.kind(of: error, "read failed") ?? .hangup(reason())
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) -> LinkIO {
        guard let socket else { return .hangup("closed") }
        do {
            let n = try socket.sendNow(bytes)
            return .done(count: n, at: MonotonicClock.read())
        } catch {
            return Self.kind(of: error, "write failed") ?? .hangup(reason())
        }
    }

    /// Would-block and the tester's own trouble; nil: the ssh process is gone (a hang-up).
    private static func kind(of error: Errno, _ what: String) -> LinkIO? {
        switch error {
        case .wouldBlock: return .wouldBlock
        case .brokenPipe, Errno(rawValue: ECONNRESET): return nil
        default: return .failed("\(what): \(error)")
        }
    }

    /// Why the session ended, told apart by ssh's exit status: 255 is ssh's own (the
    /// connection), any other the remote command's (the tty on the board).
    private func reason() -> String {
        if let endReason { return endReason }
        // Its output has ended: ssh is leaving. A moment to collect its status.
        let end = process.wait(upTo: 2_000_000_000)
        let said = SshConnection.lastLine(ofFile: errorPath).map { ": \($0)" } ?? ""
        let why: String
        switch end {
        case .exited(255)?: why = "connection to the board lost (ssh exit status 255\(said))"
        case .signalled(let s)?: why = "connection to the board lost (ssh ended by signal \(s)\(said))"
        case .exited(let code)?: why = "link lost on the board: the remote command ended with status \(code)\(said)"
        case nil: why = "connection to the board lost (ssh closed its output but did not end\(said))"
        }
        endReason = why
        return why
    }
}

extension SshConnection {
    /// The whole stderr file (bounded), for the marker.
    static func lastRaw(_ path: String) -> String {
        guard let fd = try? FileDescriptor.open(path, .readOnly, options: .closeOnExec) else { return "" }
        defer { fd.close() }
        var chunk = [UInt8](repeating: 0, count: 1024)
        let n = (try? chunk.withUnsafeMutableBytes { (b) throws(Errno) in try fd.read(into: b) }) ?? 0
        return String(decoding: chunk[..<max(n, 0)], as: UTF8.self)
    }
}
