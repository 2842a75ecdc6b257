import Glibc
import SoakCore

/// The board's RPMsg tty from a lab host, through the system's OpenSSH client: keys,
/// known_hosts, `~/.ssh/config`, jump hosts and proxies work as the user set them up, and
/// nothing is installed on the board. On the board only a shell, `stty` and `cat` run.
public final class SshLinkOpener: LinkOpener {
    public let connection: SshConnection

    public init(connection: SshConnection) { self.connection = connection }

    public var description: String { connection.target.description }

    public var reachability: String? { "\(connection.target.destination) to answer ssh" }

    /// Waits (up to `timeout`) until ssh connects: after a power cycle, the board's sshd is the
    /// last thing up. A refused key or host key is not waited for.
    public func awaitReachable(timeout: SoakDuration, interrupted: @escaping () -> Bool) throws(LinkOpenError) {
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        var lastReason = "not tried"
        repeat {
            do {
                try connection.startMaster(deadline: deadline, interrupted: interrupted)
                return
            } catch {
                lastReason = error.reason
                if SshConnection.isPermanent(error.reason) { throw LinkOpenError(device: description, reason: error.reason) }
            }
            if interrupted() { break }
            usleep(200_000)
        } while MonotonicClock.read() < deadline
        throw LinkOpenError(device: description, reason: interrupted() ? "interrupted" : "\(lastReason) (waited \(timeout))")
    }

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
                // A try cut short by the deadline says less than the one before it (no tty matches).
                if error.reason != SshLink.notOpenInTime || lastReason == "not tried" { lastReason = error.reason }
                // Waiting cannot fix a key the board refuses or a host key that does not match.
                if SshConnection.isPermanent(error.reason) {
                    throw LinkOpenError(device: description, reason: error.reason)
                }
            }
            if interrupted() { break }
            usleep(200_000)
        } while MonotonicClock.read() < deadline
        throw LinkOpenError(device: description, reason: interrupted() ? "interrupted" : "\(lastReason) (tried for \(timeout))")
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
    static let notOpenInTime = "the tty on the board did not open in time"

    /// The command the board's shell runs. The tty becomes the remote session's controlling
    /// terminal when the shell opens it, so SIGHUP is ignored: a tty that goes away must end
    /// `cat` with a read error and the shell with its status, not kill the shell by signal
    /// (which ssh reports as 255, the same as a dead connection). Each `cat` ends the other
    /// (`kill 0`, the session's process group): a `cat` left reading a tty whose session is
    /// gone would steal the echoes of the next one.
    static func remoteCommand(device: String) -> String {
        "trap '' HUP; \(resolveDevice(device))stty -F \"$D\" raw -echo && exec 3<>\"$D\" 4<&0 && "
            + "printf '\(openMarker)\\n' >&2 || exit; "
            + "{ cat <&4 >&3; kill 0; } >/dev/null 2>&1 & cat <&3; s=$?; trap \"exit $s\" TERM; kill 0; exit $s"
    }

    /// Shell code that sets `D` to the tty's path on the board: a path as written (quoted), or
    /// what a glob matches there at this open. A glob that matches no file, or more than one,
    /// ends the command with status 1 and says so on stderr ("no tty matches /dev/ttyRPMSG* on
    /// the board", "2 ttys match /dev/ttyRPMSG* on the board: /dev/ttyRPMSG0 /dev/ttyRPMSG1").
    /// The glob stands unquoted (the loader allowed only characters that are no more than a
    /// pattern to sh); the messages quote it.
    public static func resolveDevice(_ device: String) -> String {
        guard SshTarget.isGlob(device) else { return "D=\(SshConnection.shellQuoted(device)); " }
        let quoted = SshConnection.shellQuoted(device)
        return "set -- \(device); "
            + "if [ $# -gt 1 ]; then printf '%s ttys match %s on the board: %s\\n' \"$#\" \(quoted) \"$*\" >&2; exit 1; fi; "
            + "[ -e \"$1\" ] || [ -L \"$1\" ] || { printf 'no tty matches %s on the board\\n' \(quoted) >&2; exit 1; }; D=$1; "
    }

    init(connection: SshConnection, deadline: UInt64, interrupted: () -> Bool) throws(LinkOpenError) {
        let target = connection.target
        path = "\(target.destination):\(target.device)"
        errorPath = connection.nextSessionPath()
        let ends: (FileDescriptor, FileDescriptor)
        do { ends = try FileDescriptor.socketPair() } catch { throw LinkOpenError(device: path, reason: "socketpair: \(error)") }
        defer { ends.1.close() }
        do {
            process = try ChildProcess(SshConnection.ssh, connection.arguments(remote: Self.remoteCommand(device: target.device)),
                                       stdin: .descriptor(ends.1), stdout: .descriptor(ends.1), stderr: .file(errorPath))
        } catch {
            ends.0.close()
            throw LinkOpenError(device: path, reason: "cannot start \(SshConnection.ssh): \(ErrorText.describe(error))")
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
                throw LinkOpenError(device: path, reason: Self.notOpenInTime)
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

