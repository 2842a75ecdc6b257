import Glibc

/// A program started with posix_spawn(3) and owned by whoever started it: it is killed and
/// reaped by its owner, never left to a SIGCHLD handler.
///
/// Spawned in a process group of its own, with the default signal mask and default SIGINT,
/// SIGTERM, SIGHUP and SIGPIPE: a Ctrl-C at the terminal reaches the tester, which ends its
/// children itself in order, and a child never inherits a mask a test runner or CI agent set.
public final class ChildProcess {
    public let pid: pid_t
    /// The exit status once reaped.
    public private(set) var status: Termination?

    public enum Termination: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        /// From waitpid's status word (WIFEXITED and friends are macros Swift cannot call).
        init(waitStatus s: Int32) {
            self = s & 0x7f == 0 ? .exited((s >> 8) & 0xff) : .signalled(s & 0x7f)
        }

        public var description: String {
            switch self {
            case .exited(let code): return "exit status \(code)"
            case .signalled(let sig): return "signal \(sig)"
            }
        }
    }

    /// What the child's standard descriptors are.
    public enum Standard {
        /// This descriptor, duplicated into the child.
        case descriptor(FileDescriptor)
        /// This file, opened in the child for writing (created, truncated).
        case file(String)
        /// /dev/null.
        case null
    }

    /// posix_spawn of `executable` with `arguments` (no shell: each is one argv entry as given).
    public init(_ executable: String, _ arguments: [String], stdin: Standard, stdout: Standard, stderr: Standard) throws(Errno) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Copies above the standard numbers first: dup2 onto the same number would keep
        // close-on-exec, and a later dup2 must not clobber an earlier source.
        var copies: [FileDescriptor] = []
        defer { for c in copies { c.close() } }
        for (target, std) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch std {
            case .descriptor(let fd):
                let copy = try fd.duplicate(atLeast: 10)
                copies.append(copy)
                posix_spawn_file_actions_adddup2(&actions, copy.rawValue, target)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let argv0 = [executable] + arguments
        var argv: [UnsafeMutablePointer<CChar>?] = argv0.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attr, &argv, environ)
        guard rc == 0 else { throw Errno(rawValue: rc) }
        pid = child
    }

    /// waitpid(2) WNOHANG: the termination once the child has ended, nil while it runs.
    @discardableResult
    public func poll() -> Termination? {
        if let status { return status }
        var s: Int32 = 0
        let r = (try? retryOnInterrupt { waitpid(pid, &s, WNOHANG) }) ?? -1
        if r == pid { status = Termination(waitStatus: s) }
        return status
    }

    /// Polls until the child ends or `nanoseconds` pass.
    public func wait(upTo nanoseconds: UInt64) -> Termination? {
        let deadline = MonotonicClock.read() &+ nanoseconds
        while poll() == nil {
            if MonotonicClock.read() >= deadline { return nil }
            usleep(5_000)
        }
        return status
    }

    /// Sends `signal` (unless the child was reaped already: its pid may be someone else's now).
    public func signal(_ signal: Int32) {
        if poll() == nil { _ = kill(pid, signal) }
    }

    /// SIGKILL and reap.
    public func killAndReap() {
        signal(SIGKILL)
        var s: Int32 = 0
        if status == nil, (try? retryOnInterrupt { waitpid(pid, &s, 0) }) == pid { status = Termination(waitStatus: s) }
    }

    /// SIGKILL to the child's whole process group (a shell and what it started), then reap the
    /// child. The group is signalled only while the child is not reaped yet: until then its
    /// process group id cannot be anyone else's.
    public func killGroupAndReap() {
        if status == nil { _ = kill(-pid, SIGKILL) }
        killAndReap()
    }

    deinit { killAndReap() }
}
