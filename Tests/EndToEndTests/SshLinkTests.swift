import Foundation
import Glibc
import SoakCore
import SoakLinux
import TestSupport
import Testing

/// The board's tty over ssh, against a real OpenSSH server on 127.0.0.1 started by each test;
/// on the far side a real pty, or the simulated board's tty reached only through ssh.
/// Serialized: each soak test holds a simulator (a binary slot) while its soak waits for
/// another, and with SimCommandTests and KmsgInjectTests that makes three holders at most of
/// Harness's four slots; two of ours at once would take the last slot and nobody could go on.
@Suite(.serialized, .enabled(if: !SshServer.missing, "needs /usr/sbin/sshd (Debian's openssh-server; scripts/setup installs it)"))
struct SshLinkTests {
    @Test func bytesCrossTheSshLinkUnchangedBothWaysAndTheTtyGoingAwayIsLostOnTheBoard() async throws {
        try await offPool {
            let server = try SshServer.start()
            defer { server.stop() }
            let pty = try PseudoTerminal()
            let connection = SshConnection(target: SshTarget(destination: "root@127.0.0.1", device: pty.slavePath,
                                                             options: server.clientOptions))
            defer { connection.close() }
            let link = try SshLinkOpener(connection: connection).open(timeout: .seconds(120), interrupted: { false })
            defer { link.close() }
            // Every byte value, twice: ^C, ^S, ^Q, ^D, CR, LF, ssh's escape '~' after a newline, NUL, 0xFF.
            let sent = (0..<512).map { UInt8($0 & 0xFF) } + Array("\n~.\n~?".utf8)

            var offset = 0
            // Generous: the loops end as soon as the bytes are through; only a broken link waits it out.
            let deadline = Date().addingTimeInterval(120)
            var atDevice: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while atDevice.count < sent.count && Date() < deadline {
                if offset < sent.count, case .done(let n, _) = sent[offset...].withUnsafeBytes({ link.write($0) }) { offset += n }
                _ = pty.wait(forWrite: false, timeout: 10_000_000)
                let n = pty.readAvailable(into: &buffer)
                atDevice += buffer[0..<n]
            }
            #expect(atDevice == sent, "the tty on the far side gets exactly what was written")

            var written = 0
            var atTester: [UInt8] = []
            while atTester.count < sent.count && Date() < deadline {
                if written < sent.count { written += pty.writeSome(sent[written...]) }
                if link.wait(forWrite: false, timeout: 10_000_000).readable,
                   case .done(let n, _) = buffer.withUnsafeMutableBytes({ link.read(into: $0) }) {
                    atTester += buffer[0..<n]
                }
            }
            #expect(atTester == sent, "the tester reads exactly what the device sent")

            pty.close()
            var ending: LinkIO = .wouldBlock
            while Date() < deadline {
                _ = link.wait(forWrite: false, timeout: 50_000_000)
                ending = buffer.withUnsafeMutableBytes { link.read(into: $0) }
                if case .hangup = ending { break }
                // The far side's `cat` notices the tty gone at once; a write wakes the other one.
                _ = sent[0..<1].withUnsafeBytes { link.write($0) }
            }
            guard case .hangup(let why) = ending else { Issue.record("no hang-up: \(ending)"); return }
            // The tty on the board went away, not the connection. Its reader ends with status 1
            // (EIO) or 0 (a zero read): a closed pty gives either (DOMAIN.md).
            #expect(why.hasPrefix("link lost on the board: the remote command ended with status "), "\(why)")
            #expect(!why.contains("connection to the board lost"), "\(why)")
        }
    }

    /// A board file whose link is the simulator's tty, reached only over ssh.
    static func writeBoard(_ server: SshServer, tty: String, in dir: String, setup: String? = nil) throws -> String {
        let path = "\(dir)/board-ssh.yaml"
        let setupLine = setup.map { ", setup: [\($0)]" } ?? ""
        try """
        name: sim-over-ssh
        link: {ssh: root@127.0.0.1, device: \(tty), ssh_options: \(server.clientOptionsYAML)\(setupLine)}
        \(Harness.quietKernel)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aSoakOfTheSimulatedBoardOverSshPassesWithEveryMessageEchoed() async throws {
        let server = try await offPool { try SshServer.start() }
        defer { server.stop() }
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try await Harness.start(["sim", "--dir", simDir, "--uart-baud", "0", "--seed", "7"])
        defer { Harness.kill9(sim) }
        #expect(try await Harness.waitForPath("\(simDir)/ttyRPMSG30"))
        // The setup command runs on the board (here the same machine) as one word for its shell:
        // quotes, $ and ; reach it unchanged and nothing runs on this side.
        let board = try Self.writeBoard(server, tty: "\(simDir)/ttyRPMSG30", in: dir,
                                        setup: #"'printf "%s;$HOME" "it''s" > \#(dir)/setup-ran'"#)
        let check = try await Harness.run(["check", Harness.fixture("short.yaml"), "--board", board])
        #expect(check.stdout.contains("link root@127.0.0.1:\(simDir)/ttyRPMSG30 over ssh"), "\(check.stdout)")
        let r = try await Harness.run(["run", Harness.fixture("short.yaml"), "--board", board, "--out", dir])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let totals = try r.totals()
        #expect(totals["sent"] ?? 0 >= 40)
        #expect(totals["echoed"] == totals["sent"] && totals["lost"] == 0 && totals["corrupted"] == 0, "\(totals)")
        #expect(totals["bytes_echoed"] == totals["bytes_sent"])
        // The ssh connection's own round trip, measured beside the soak (one echo a second).
        let network = try #require(try r.summary()["network"] as? [String: Any])
        #expect(network["path"] as? String == "ssh to root@127.0.0.1")
        #expect(((network["round_trip_micros"] as? [String: Any])?["count"] as? Int ?? 0) >= 1, "\(network)")
        #expect(r.stdout.contains("includes the network (ssh to root@127.0.0.1"), "\(r.stdout)")
        #expect((try? String(contentsOfFile: "\(dir)/setup-ran", encoding: .utf8)) == "it's;/root", "the setup command ran once, through sh on the board")
    }

    @Test func theConnectionDyingMidRunIsALinkLostConnectionToTheBoard() async throws {
        let server = try await offPool { try SshServer.start() }
        defer { server.stop() }
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try await Harness.start(["sim", "--dir", simDir, "--uart-baud", "0", "--seed", "8"])
        defer { Harness.kill9(sim) }
        #expect(try await Harness.waitForPath("\(simDir)/ttyRPMSG30"))
        let board = try Self.writeBoard(server, tty: "\(simDir)/ttyRPMSG30", in: dir)
        // fault.yaml with room for a busy machine: the hang-up must be the first failure, and
        // it comes at once (ssh ends), not after a timeout.
        let profile = "\(dir)/steady.yaml"
        try """
        name: steady
        seed: 3
        report_interval: 1s
        link: {hang_timeout: 20s, loss_timeout: 10s, drain_timeout: 2s, open_timeout: 60s}
        phases:
          - {name: steady, duration: 30s, rate: 50, size: 64, window: 4, payload: binary}
        """.write(toFile: profile, atomically: true, encoding: .utf8)
        let soak = try await Harness.start(["run", profile, "--board", board, "--out", dir])
        defer { Harness.kill9(soak) }
        // As a board losing power would: the server side of the connection vanishes.
        let killed = try await Harness.whenUnderWay(soak, intervals: 1, seconds: 90) {
            for pid in server.connectionProcesses() { kill(pid, SIGKILL) }
        }
        try #require(killed != nil, "the soak did not get under way")
        let r = await Harness.finish(soak)
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let failures = try #require(try r.summary()["link_failures"] as? [[String: Any]])
        #expect(failures.first?["kind"] as? String == "link_lost", "\(failures)")
        let reason = failures.first?["reason"] as? String ?? ""
        #expect(reason.contains("connection to the board lost"), "\(reason)")
    }

    @Test func aBoardThatRefusesTheKeyIsAnInfrastructureErrorNamingTheHost() async throws {
        let server = try await offPool { try SshServer.start() }
        defer { server.stop() }
        let dir = Harness.tempDir()
        let board = "\(dir)/board-ssh.yaml"
        try """
        name: wrong-key
        link: {ssh: root@127.0.0.1, device: /dev/ttyRPMSG30, ssh_options: [-p, "\(server.port)", -i, \(dir)/no-such-key, -o, IdentitiesOnly=yes, -o, StrictHostKeyChecking=no, -o, UserKnownHostsFile=\(dir)/known_hosts]}
        \(Harness.quietKernel)
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let profile = "\(dir)/quick.yaml"
        try """
        name: quick
        link: {open_timeout: 60s}
        phases:
          - {name: a, duration: 1s, rate: 10, size: 64}
        """.write(toFile: profile, atomically: true, encoding: .utf8)
        let started = Date()
        let r = try await Harness.run(["run", profile, "--board", board, "--out", dir])
        #expect(Date().timeIntervalSince(started) < 50, "a refused key is not retried until open_timeout")
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("ssh to root@127.0.0.1 failed") && r.stderr.contains("Permission denied"), "\(r.stderr)")
    }
}
