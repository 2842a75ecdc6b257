import Foundation
import Glibc
import SoakLinux

/// A real OpenSSH server on 127.0.0.1 for the tests (REAL-PARTS.md): its own host key and
/// authorised key in a temporary folder, a free port, no system configuration touched (but
/// /run/sshd, the privilege-separation folder sshd insists on), stopped by `stop`.
final class SshServer: @unchecked Sendable {
    static let sshd = "/usr/sbin/sshd"
    static var missing: Bool { !FileManager.default.isExecutableFile(atPath: sshd) }

    let dir: String
    let port: Int
    private let process: ChildProcess

    /// What a board file's `ssh_options` (or an ssh command line) needs to reach it.
    var clientOptions: [String] {
        ["-p", "\(port)", "-i", "\(dir)/userkey", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=\(dir)/known_hosts", "-o", "LogLevel=ERROR"]
    }

    /// The same, as a YAML flow list.
    var clientOptionsYAML: String { "[" + clientOptions.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }

    private init(dir: String, port: Int, process: ChildProcess) {
        self.dir = dir
        self.port = port
        self.process = process
    }

    /// Starts sshd in the foreground (-D: our child, not a daemon) and waits until it accepts.
    static func start() throws -> SshServer {
        let dir = Harness.tempDir() + "/sshd"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for key in ["hostkey", "userkey"] {
            try runTool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", "\(dir)/\(key)"])
        }
        try FileManager.default.copyItem(atPath: "\(dir)/userkey.pub", toPath: "\(dir)/authorized_keys")
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        var lastProblem = ""
        // A port found free can be taken before sshd binds it: then try another.
        for _ in 0..<5 {
            let port = try freePort()
            let config = """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(dir)/hostkey
                AuthorizedKeysFile \(dir)/authorized_keys
                PidFile none
                StrictModes no
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                PermitRootLogin yes

                """
            try config.write(toFile: "\(dir)/sshd_config", atomically: true, encoding: .utf8)
            let p = try ChildProcess(sshd, ["-D", "-f", "\(dir)/sshd_config", "-E", "\(dir)/sshd.log"],
                                     stdin: .null, stdout: .null, stderr: .file("\(dir)/sshd.err"))
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                if p.poll() != nil { break }
                if accepts(port: port) {
                    try "\(p.pid)\n".write(toFile: "\(dir)/listener.pid", atomically: true, encoding: .utf8)
                    return SshServer(dir: dir, port: port, process: p)
                }
                usleep(20_000)
            }
            p.killAndReap()
            lastProblem = ((try? String(contentsOfFile: "\(dir)/sshd.log", encoding: .utf8)) ?? "")
                + ((try? String(contentsOfFile: "\(dir)/sshd.err", encoding: .utf8)) ?? "")
        }
        throw SshServerError(message: "sshd did not start: \(lastProblem)")
    }

    /// The listening sshd now: ours, or the one `powerCommands`'s on command started again.
    var listener: pid_t {
        ((try? String(contentsOfFile: "\(dir)/listener.pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
            ?? process.pid
    }

    /// The per-connection sshd processes (children of the listener): killing one is a board
    /// whose connection died (power lost, cable pulled).
    func connectionProcesses() -> [pid_t] {
        let listener = listener
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == listener
        }
    }

    /// Shell commands for a board file's `power: {kind: command}` that switch the simulated
    /// board in `simDir` as a real board's power would: off stops the board and its sshd (the
    /// listener and every connection, at once, as a power loss does); on starts the board and,
    /// unless `sshdComesBack` is false, its sshd again (as a daemon, on the same port).
    func powerCommands(simDir: String, sshdComesBack: Bool = true) throws -> (off: String, on: String) {
        let off = "\(dir)/power-off.sh"
        try """
        echo 'power off' > '\(simDir)/control'
        L=$(cat '\(dir)/listener.pid')
        for f in /proc/[0-9]*/stat; do
          read -r pid comm state ppid rest < "$f" 2>/dev/null && [ "$ppid" = "$L" ] && kill -KILL "$pid"
        done
        kill -KILL "$L"
        exit 0

        """.write(toFile: off, atomically: true, encoding: .utf8)
        let on = "\(dir)/power-on.sh"
        try """
        echo 'power on' > '\(simDir)/control'
        \(sshdComesBack ? "\(Self.sshd) -f '\(dir)/sshd_config' -E '\(dir)/sshd.log' -o 'PidFile=\(dir)/listener.pid'" : "true")

        """.write(toFile: on, atomically: true, encoding: .utf8)
        return ("sh \(off)", "sh \(on)")
    }

    /// Ends the connections, then the listener (and one started again by the on command).
    func stop() {
        for pid in connectionProcesses() { kill(pid, SIGKILL) }
        if listener != process.pid { kill(listener, SIGKILL) }
        process.killAndReap()
    }

    deinit { stop() }

    struct SshServerError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    private static func runTool(_ path: String, _ args: [String]) throws {
        let p = try ChildProcess(path, args, stdin: .null, stdout: .null, stderr: .null)
        guard p.wait(upTo: 30_000_000_000) == .exited(0) else { throw SshServerError(message: "\(path) \(args) failed") }
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw SshServerError(message: "no free port: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
