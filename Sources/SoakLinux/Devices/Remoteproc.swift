import Foundation
import Glibc
import SoakCore

/// The M7 through Linux's remoteproc sysfs (`/sys/class/remoteproc/remoteprocN`): `state` reads
/// offline, running, crashed or attached; writing `stop` or `start` to it stops or boots the
/// core; `firmware` names the file under /lib/firmware that `start` loads.
public struct Remoteproc: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The current state, or nil when it cannot be read.
    public func state() -> String? {
        readText("\(path)/state")?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Why a restart is not possible, or nil when it is.
    public func unavailable() -> String? {
        guard let state = state() else {
            // Ask again for the reason: readText keeps no errno.
            let why: String
            do {
                let fd = try FileDescriptor.open("\(path)/state", .readOnly, options: .closeOnExec)
                fd.close()
                why = "it reads back nothing"
            } catch {
                why = error.description
            }
            return "cannot read \(path)/state: \(why)"
        }
        if state == "attached" {
            return "the M7 was started by the boot loader (remoteproc state 'attached'): Linux did not load its firmware and cannot restart it"
        }
        return nil
    }

    /// stop (when running or crashed), then the firmware name, then start; waits for each
    /// state. Gives up at `timeout` per state, or when `interrupted` becomes true.
    public func restart(firmware: String?, timeout: SoakDuration, interrupted: () -> Bool) throws(RecoveryFailure) {
        if let reason = unavailable() { throw RecoveryFailure(reason) }
        if state() != "offline" {
            try write("stop", to: "state")
            try wait(for: "offline", timeout: timeout, interrupted: interrupted)
        }
        if let firmware { try write(firmware, to: "firmware") }
        try write("start", to: "state")
        try wait(for: "running", timeout: timeout, interrupted: interrupted)
    }

    private func write(_ text: String, to file: String) throws(RecoveryFailure) {
        let p = "\(path)/\(file)"
        let fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw RecoveryFailure("remoteproc: cannot open \(p): \(describeErrno(errno))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw RecoveryFailure("remoteproc: writing '\(text)' to \(p): \(describeErrno(errno))") }
    }

    private func wait(for wanted: String, timeout: SoakDuration, interrupted: () -> Bool) throws(RecoveryFailure) {
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        while true {
            let now = state()
            if now == wanted { return }
            if MonotonicClock.read() >= deadline {
                throw RecoveryFailure("remoteproc: \(path) is '\(now ?? "unreadable")', not '\(wanted)', after \(timeout)")
            }
            if interrupted() { throw RecoveryFailure("interrupted") }
            usleep(10_000)
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
