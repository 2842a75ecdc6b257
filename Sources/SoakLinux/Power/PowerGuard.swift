import CGpioLine
import Foundation
import Glibc

/// Keeps the promise "never left powered off by accident" when this process cannot: a second
/// process (this binary, as `rpmsg-soak power-guard`) holds a copy of the relay line's request
/// and a pipe from us. Should we die without saying goodbye (SIGKILL, the OOM killer, a crash
/// in the middle of a power cycle), the pipe closes and the guard drives the line to the
/// declared state through the kernel's own ioctl, then exits. A normal end dismisses it first.
public final class PowerGuard {
    private let pid: pid_t
    private var pipeWrite: Int32

    /// Starts the guard for the line request `requestFD` (uAPI 1 or 2), to drive `value`
    /// (logical: the request's active-low applies) if we vanish.
    public init(requestFD: Int32, uapi: Int, value: Bool) throws(GpioError) {
        guard let exe = readLink("/proc/self/exe") else { throw GpioError("power guard: cannot find this program (/proc/self/exe)") }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw GpioError("power guard: pipe: \(describeErrno(errno))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // Above the standard descriptors first, so the dup2 onto 3 and 4 never meets itself
        // (dup2 onto the same number would keep close-on-exec).
        let request = fcntl(requestFD, F_DUPFD_CLOEXEC, 100)
        let reader = fcntl(fds[0], F_DUPFD_CLOEXEC, 100)
        close(fds[0])
        defer { close(request); close(reader) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, request, 3)
        posix_spawn_file_actions_adddup2(&actions, reader, 4)
        let args = [exe, "power-guard", "--uapi", "\(uapi)", "--value", value ? "1" : "0", "--parent", "\(getpid())"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, nil, &argv, environ)
        guard rc == 0 else {
            close(fds[1])
            throw GpioError("power guard: cannot start \(exe): \(describeErrno(rc))")
        }
        pid = child
        pipeWrite = fds[1]
    }

    /// A normal end: the owner has left the line as declared and releases it itself.
    public func dismiss() {
        guard pipeWrite >= 0 else { return }
        var done: UInt8 = UInt8(ascii: "d")
        _ = write(pipeWrite, &done, 1)
        close(pipeWrite)
        pipeWrite = -1
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    deinit { dismiss() }

    /// The guard's side (`rpmsg-soak power-guard`): the request is descriptor 3, the pipe 4.
    /// Ignores SIGINT, SIGTERM and SIGHUP (a Ctrl-C reaches the whole process group; the
    /// tester handles it). Returns what it did, for its one line on stderr.
    public static func serve(uapi: Int, value: Bool, parent: Int) -> String? {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        var byte: UInt8 = 0
        var n: Int
        repeat { n = read(4, &byte, 1) } while n < 0 && errno == EINTR
        if n == 1 && byte == UInt8(ascii: "d") { return nil }
        let rc = soak_gpio_fd_set(3, Int32(uapi), value ? 1 : 0)
        let state = value ? "on" : "off"
        if rc != 0 { return "rpmsg-soak (process \(parent)) ended without releasing the relay, and driving it \(state) failed: \(describeErrno(errno))" }
        return "rpmsg-soak (process \(parent)) ended without releasing the relay: the line is driven \(state), the declared state"
    }

    /// The kernel descriptor of this process's one libgpiod v1 line handle (libgpiod 1.x does
    /// not hand it out): the newest anon_inode:gpio-linehandle in /proc/self/fd.
    static func linehandleFD() -> Int32? {
        let fds = ((try? directoryEntries("/proc/self/fd")) ?? []).compactMap(Int32.init)
        return fds.filter { readLink("/proc/self/fd/\($0)") == "anon_inode:gpio-linehandle" }.max()
    }
}
