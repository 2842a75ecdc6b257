import Foundation
import Glibc
import SoakLinux

/// A real labgrid lab on 127.0.0.1 for the tests (REAL-PARTS.md): labgrid 26 from PyPI in the
/// checkout's `.test-venv` (scripts/setup makes it), its coordinator and one exporter on free
/// ports, started fresh per test and stopped by `stop`. The exporter exports, for one place:
/// - the simulated board's M7 UART as a RawSerialPort (ser2net, started by the exporter when the
///   place is acquired), through a symlink under /dev/ (the exporter insists on /dev/);
/// - a NetworkPowerPort `model: rest` served by a small HTTP relay (python3) that switches the
///   simulated board's power through its control FIFO, as a PDU would;
/// - a NetworkService: the loopback sshd of the SSH tests.
final class LabgridLab: @unchecked Sendable {
    static let root = Harness.packageRoot.appendingPathComponent(".test-venv/bin").path
    static var client: String { "\(root)/labgrid-client" }
    static var missing: Bool {
        !FileManager.default.isExecutableFile(atPath: client) || !FileManager.default.isExecutableFile(atPath: "/usr/sbin/ser2net")
    }

    let dir: String
    let place: String
    let coordinator: String
    let uartLink: String
    private var processes: [ChildProcess] = []

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Starts the relay, the coordinator and the exporter, and makes the place `place` with the
    /// exporter's resources; returns once the coordinator lists them.
    init(simDir: String, ssh: SshServer, place: String = "imx8mp-sim") throws {
        dir = Harness.tempDir() + "/labgrid"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        self.place = place
        let tag = UUID().uuidString.prefix(8)
        uartLink = "/dev/rpmsg-soak-test-uart-\(tag)"
        unlink(uartLink)
        guard symlink("\(simDir)/ttyM7UART", uartLink) == 0 else { throw Failure(description: "cannot link \(uartLink): errno \(errno)") }

        let relayPort = try Self.freePort()
        try """
        import http.server, sys
        state = {'v': '1'}
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                b = state['v'].encode()
                self.send_response(200); self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)
            def do_PUT(self):
                v = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode().strip()
                state['v'] = v
                with open(sys.argv[2] + '/control', 'w') as f: f.write('power on\\n' if v == '1' else 'power off\\n')
                with open(sys.argv[3], 'a') as f: f.write(('on' if v == '1' else 'off') + '\\n')
                self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
            def log_message(self, *a): pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
        """.write(toFile: "\(dir)/relay.py", atomically: true, encoding: .utf8)
        processes.append(try ChildProcess("/usr/bin/python3", ["\(dir)/relay.py", "\(relayPort)", simDir, "\(dir)/relay.log"],
                                          stdin: .null, stdout: .null, stderr: .file("\(dir)/relay.err")))

        let coordinatorPort = try Self.freePort()
        coordinator = "127.0.0.1:\(coordinatorPort)"
        // The coordinator keeps places.yaml in its working folder: this lab's own.
        processes.append(try ChildProcess("/bin/sh", ["-c", "cd \"$1\" && exec \"$2\" -l \"$3\"", "sh", dir, "\(Self.root)/labgrid-coordinator", coordinator],
                                          stdin: .null, stdout: .null, stderr: .file("\(dir)/coordinator.log")))
        try """
        imx8mp-sim:
          NetworkPowerPort: {model: rest, host: 'http://127.0.0.1:\(relayPort)/relay/{index}/value', index: 0}
          NetworkService: {address: 127.0.0.1, username: root, port: \(ssh.port)}
          RawSerialPort: {port: \(uartLink), speed: 115200}
        """.write(toFile: "\(dir)/exporter.yaml", atomically: true, encoding: .utf8)
        // The exporter connects once the coordinator listens: started until it stays up.
        let deadline = Date().addingTimeInterval(60)
        var exporter: ChildProcess?
        while Date() < deadline {
            if exporter == nil || exporter?.poll() != nil {
                exporter = try ChildProcess("\(Self.root)/labgrid-exporter", ["-c", coordinator, "--name", "ex1", "--hostname", "127.0.0.1", "\(dir)/exporter.yaml"],
                                            stdin: .null, stdout: .null, stderr: .file("\(dir)/exporter.log"))
            }
            if try run(["resources"]).output.contains("ex1/imx8mp-sim") { break }
            usleep(300_000)
        }
        if let exporter { processes.append(exporter) }
        guard try run(["resources"]).output.contains("ex1/imx8mp-sim") else {
            throw Failure(description: "the exporter did not register: \((try? String(contentsOfFile: "\(dir)/exporter.log", encoding: .utf8)) ?? "")")
        }
        for args in [["-p", place, "create"], ["-p", place, "add-match", "ex1/imx8mp-sim/*"]] {
            let r = try run(args)
            guard r.status == .exited(0) else { throw Failure(description: "labgrid-client \(args): \(r.errors)") }
        }
    }

    /// labgrid-client against this lab's coordinator.
    func run(_ args: [String]) throws -> (status: ChildProcess.Termination?, output: String, errors: String) {
        let out = "\(dir)/client-\(UUID().uuidString).out", err = out + ".err"
        defer { unlink(out); unlink(err) }
        let p = try ChildProcess(Self.client, ["-x", coordinator] + args, stdin: .null, stdout: .file(out), stderr: .file(err))
        let end = p.wait(upTo: 60_000_000_000)
        if end == nil { p.killAndReap() }
        return (end, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "", (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// Who holds which place: `labgrid-client who`.
    func who() throws -> String { try run(["who"]).output }

    /// What the relay was told, in order (`on`, `off`).
    var relayLog: [String] {
        ((try? String(contentsOfFile: "\(dir)/relay.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// SIGTERM first, so the exporter ends the ser2net it started; then anything left of it.
    func stop() {
        for p in processes.reversed() {
            p.signal(SIGTERM)
            if p.wait(upTo: 3_000_000_000) == nil { p.killAndReap() }
        }
        processes = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let cmd = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8) else { continue }
            if cmd.contains("ser2net") && cmd.contains(uartLink) { kill(pid, SIGKILL) }
        }
        unlink(uartLink)
    }

    deinit { stop() }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw Failure(description: "no free port: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
