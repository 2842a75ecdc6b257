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
    /// nil once dismissed.
    private var pipeWrite: FileDescriptor?

    /// Starts the guard for the line request `requestFD` (uAPI 1 or 2), to drive `value`
    /// (logical: the request's active-low applies) if we vanish.
    public init(requestFD: FileDescriptor, uapi: Int, value: Bool) throws(GpioError) {
        guard let exe = readLink("/proc/self/exe") else { throw GpioError("power guard: cannot find this program (/proc/self/exe)") }
        let pipe: (readEnd: FileDescriptor, writeEnd: FileDescriptor)
        do { pipe = try FileDescriptor.pipe() } catch { throw GpioError("power guard: pipe: \(error)") }
        defer { pipe.readEnd.close() }
        // Above the standard descriptors first, so the dup2 onto 3 and 4 never meets itself
        // (dup2 onto the same number would keep close-on-exec).
        let request: FileDescriptor, reader: FileDescriptor
        do {
            request = try requestFD.duplicate(atLeast: 100)
            do { reader = try pipe.readEnd.duplicate(atLeast: 100) } catch { request.close(); throw error }
        } catch {
            pipe.writeEnd.close()
            throw GpioError("power guard: cannot copy a descriptor: \(error)")
        }
        defer { request.close(); reader.close() }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, request.rawValue, 3)
        posix_spawn_file_actions_adddup2(&actions, reader.rawValue, 4)
        let args = [exe, "power-guard", "--uapi", "\(uapi)", "--value", value ? "1" : "0", "--parent", "\(getpid())"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, nil, &argv, environ)
        guard rc == 0 else {
            pipe.writeEnd.close()
            throw GpioError("power guard: cannot start \(exe): \(Errno(rawValue: rc))")
        }
        pid = child
        pipeWrite = pipe.writeEnd
    }

    /// A normal end: the owner has left the line as declared and releases it itself.
    public func dismiss() {
        guard let pipeWrite else { return }
        var done = UInt8(ascii: "d")
        _ = try? withUnsafeBytes(of: &done) { (b) throws(Errno) in try pipeWrite.write(b) }
        pipeWrite.close()
        self.pipeWrite = nil
        var status: Int32 = 0
        _ = try? retryOnInterrupt { waitpid(pid, &status, 0) }
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
        let parentPipe = FileDescriptor(rawValue: 4)
        let n = (try? withUnsafeMutableBytes(of: &byte) { (b) throws(Errno) in try parentPipe.read(into: b) }) ?? 0
        if n == 1 && byte == UInt8(ascii: "d") { return nil }
        let rc = soak_gpio_fd_set(3, Int32(uapi), value ? 1 : 0)
        let state = value ? "on" : "off"
        if rc != 0 { return "rpmsg-soak (process \(parent)) ended without releasing the relay, and driving it \(state) failed: \(Errno.current)" }
        return "rpmsg-soak (process \(parent)) ended without releasing the relay: the line is driven \(state), the declared state"
    }

    /// The kernel descriptor of this process's one libgpiod v1 line handle (libgpiod 1.x does
    /// not hand it out): the newest anon_inode:gpio-linehandle in /proc/self/fd.
    static func linehandleFD() -> FileDescriptor? {
        let fds = ((try? directoryEntries("/proc/self/fd")) ?? []).compactMap(Int32.init)
        return fds.filter { readLink("/proc/self/fd/\($0)") == "anon_inode:gpio-linehandle" }.max()
            .map(FileDescriptor.init(rawValue:))
    }
}
