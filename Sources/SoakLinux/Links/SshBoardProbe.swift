import Foundation
import Glibc
import SoakCore

/// What `rpmsg-soak check` finds on a board reached over ssh, without sending any traffic: ssh
/// answers, the tty is there and is a character device, the kernel log can be read, remoteproc
/// says its state. Each look is one short command through the run's connection; each finding
/// is one line naming the host.
public struct SshBoardProbe {
    /// One line of what was found; `found` false: a part missing or the board not reached.
    public struct Finding: Sendable, CustomStringConvertible {
        public var found: Bool
        public var line: String
        public var description: String { line }
    }

    public let connection: SshConnection
    /// How long one command on the board may take.
    public var commandTimeout: SoakDuration = .seconds(10)
    public var interrupted: () -> Bool

    public init(connection: SshConnection, interrupted: @escaping () -> Bool = { false }) {
        self.connection = connection
        self.interrupted = interrupted
    }

    var destination: String { connection.target.destination }

    /// Connects (a board whose sshd does not answer yet is tried again until `timeout`; a refused
    /// key or an unknown host key is not) and times one command's round trip.
    public func reach(timeout: SoakDuration) -> Finding {
        let start = MonotonicClock.read()
        let deadline = start &+ timeout.nanoseconds
        var reason = "not tried"
        while true {
            do {
                try connection.startMaster(deadline: deadline, interrupted: interrupted)
                break
            } catch {
                reason = error.reason
                if SshConnection.isPermanent(reason) || interrupted() || MonotonicClock.read() >= deadline {
                    return Finding(found: false, line: "ssh: cannot reach \(destination): \(reason)\(Self.hint(forSsh: reason, destination: destination))")
                }
            }
            usleep(200_000)
        }
        let connected = MonotonicClock.read()
        let result: SshConnection.Result
        do { result = try connection.run("true", timeout: commandTimeout, interrupted: interrupted) } catch {
            return Finding(found: false, line: "ssh: \(destination) connected but a command did not run: \(error.reason)")
        }
        let done = MonotonicClock.read()
        guard result.status == 0 else {
            return Finding(found: false, line: "ssh: \(destination) connected but `true` ended with status \(result.status): \(SshRemoteprocFiles.lastLine(result.errors))")
        }
        return Finding(found: true, line: String(format: "ssh: %@ reachable (connected in %.2f s, a command's round trip %.0f ms)",
                                                 destination, Double(connected - start) / 1e9, Double(done - connected) / 1e6))
    }

    /// What to do about what ssh said.
    static func hint(forSsh reason: String, destination: String) -> String {
        let host = destination.split(separator: "@").last.map(String.init) ?? destination
        if reason.contains("Host key verification failed") || reason.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            return " — the board's host key is not in known_hosts (or changed): add it, for example `ssh-keyscan \(host) >> ~/.ssh/known_hosts` after checking its fingerprint (`ssh-keygen -R \(host)` removes an old one)"
        }
        if reason.contains("Permission denied") {
            return " — the board refused the key: put your public key in the board's ~/.ssh/authorized_keys (`ssh-copy-id \(destination)`), or name the key in the board file with ssh_options: [-i, KEY]"
        }
        if reason.contains("Could not resolve hostname") { return " — the name does not resolve: check the destination, or give a Host of ~/.ssh/config" }
        return " — is the board powered, on the network, and its sshd running?"
    }

    /// A command's failure that is ssh's own (status 255), as a finding; nil when it is not.
    private func lost(_ what: String, _ result: SshConnection.Result) -> Finding? {
        guard result.status == 255 else { return nil }
        return Finding(found: false, line: "\(what) on \(destination): connection to the board lost (ssh exit status 255: \(SshRemoteprocFiles.lastLine(result.errors)))")
    }

    /// The shell command that resolves `device` on the board (a glob to its one match) and
    /// prints its path when it is a character device. Exit 1: nothing there (or a glob with no
    /// match, or several); 2: there, but not a character device.
    static func ttyCommand(_ device: String) -> String {
        SshLink.resolveDevice(device)
            + "if [ -c \"$D\" ]; then printf '%s\\n' \"$D\"; elif [ -e \"$D\" ]; then printf 'not a character device: %s\\n' \"$D\" >&2; exit 2; "
            + "else printf 'no such device: %s\\n' \"$D\" >&2; exit 1; fi"
    }

    /// The RPMsg tty on the board (a path, or a glob that must match exactly one).
    public func tty(_ device: String) -> Finding {
        let result: SshConnection.Result
        do { result = try connection.run(Self.ttyCommand(device), timeout: commandTimeout, interrupted: interrupted) } catch {
            return Finding(found: false, line: "tty on \(destination): \(error.reason)")
        }
        if let lost = lost("tty", result) { return lost }
        guard result.status == 0 else {
            return Finding(found: false, line: "tty on \(destination): \(SshRemoteprocFiles.lastLine(result.errors))")
        }
        let found = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        if found == device { return Finding(found: true, line: "tty: \(device) on \(destination) is a character device") }
        return Finding(found: true, line: "tty: \(device) on \(destination) matches \(found), a character device")
    }

    /// A test read of the kernel log on the board, busybox-safe and never stuck: `dd` reads one
    /// record (bs=8192 is above the largest record; a smaller read fails with EINVAL) in the
    /// background while a watchdog kills it after 3 s. Opening /dev/kmsg is where
    /// `kernel.dmesg_restrict` refuses a user without CAP_SYSLOG (EPERM), so a failed open is the
    /// answer; a read that waits (nothing logged yet) was an open that worked. `[ -r ]` alone
    /// would not do: it checks the mode bits, not the capability. dd's own message (the line on
    /// stderr that starts with `dd:`) says why a read failed; its record counts are not looked at.
    static func kernelLogCommand(_ path: String) -> String {
        "K=\(SshConnection.shellQuoted(path)); [ -e \"$K\" ] || { echo 'No such file or directory' >&2; exit 1; }; "
            + "dd if=\"$K\" of=/dev/null bs=8192 count=1 & "
            + "p=$!; ( sleep 3; kill $p ) >/dev/null 2>&1 & w=$!; wait $p; s=$?; kill $w 2>/dev/null; "
            + "[ $s -gt 128 ] && exit 0; exit $s"
    }

    /// The kernel log on the board (`/dev/kmsg`): can this login read it?
    public func kernelLog(_ path: String) -> Finding {
        let result: SshConnection.Result
        do { result = try connection.run(Self.kernelLogCommand(path), timeout: commandTimeout, interrupted: interrupted) } catch {
            return Finding(found: false, line: "kernel log on \(destination): \(error.reason)")
        }
        if let lost = lost("kernel log", result) { return lost }
        guard result.status == 0 else {
            // dd's own line (GNU dd prints its record counts after it), else the shell's.
            let ddLine = result.errors.split(whereSeparator: \.isNewline).first { $0.hasPrefix("dd:") }.map(String.init)
            let cause = SshRemoteprocFiles.cause(ddLine ?? result.errors)
            var hint = ""
            if cause.contains("not permitted") || cause.contains("Permission denied") {
                hint = " — kernel.dmesg_restrict keeps the kernel log from users without CAP_SYSLOG: log in as root, or run `sysctl kernel.dmesg_restrict=0` on the board"
            }
            return Finding(found: false, line: "kernel log: cannot read \(path) on \(destination): \(cause)\(hint)")
        }
        return Finding(found: true, line: "kernel log: \(path) on \(destination) is readable")
    }

    /// remoteproc on the board: its state.
    public func remoteproc(_ path: String) -> Finding {
        let rproc = Remoteproc(files: SshRemoteprocFiles(connection: connection, path: path, commandTimeout: commandTimeout))
        let state: String
        do { state = try rproc.readState(interrupted: interrupted) } catch { return Finding(found: false, line: error.reason) }
        let note = state == "attached" ? " (started by the boot loader: remoteproc-restart will be skipped)" : ""
        return Finding(found: true, line: "remoteproc: \(path) on \(destination) is \(state)\(note)")
    }
}

extension BoardParts {
    /// The kernel log's path on the board, when the board file watches one there
    /// (`kernel_log: {source: ssh}`, the default of an ssh link).
    var kernelLogOnBoard: String? {
        if case .ssh(let path)? = board.kernelLog { return path }
        return nil
    }

    /// For `check`: connects to a board reached over ssh (within `connectTimeout`) and reports
    /// each part found or missing through `report`. True when everything was found; nil when the
    /// link is not over ssh. Closes the connection when done.
    public func probeOverSsh(connectTimeout: SoakDuration, report: (SshBoardProbe.Finding) -> Void) -> Bool? {
        guard let sshConnection, case .ssh(let target) = board.link.location else { return nil }
        defer { sshConnection.close() }
        let probe = SshBoardProbe(connection: sshConnection, interrupted: interrupted)
        let reached = probe.reach(timeout: connectTimeout)
        report(reached)
        guard reached.found else { return false }
        var all = true
        func note(_ finding: SshBoardProbe.Finding) {
            report(finding)
            all = all && finding.found
        }
        var tty = probe.tty(target.device)
        if !tty.found && !board.link.setup.isEmpty {
            tty.line += " (the board file's setup commands, which check does not run, may make it)"
        }
        note(tty)
        if let kmsg = kernelLogOnBoard { note(probe.kernelLog(kmsg)) }
        if let r = board.remoteproc { note(probe.remoteproc(r.path)) }
        return all
    }
}
