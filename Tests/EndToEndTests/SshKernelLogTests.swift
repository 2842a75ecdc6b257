import Foundation
import Glibc
import SoakCore
import SoakLinux
import TestSupport
import Testing

/// The board's kernel log read over ssh (SshKmsgSource), against a real OpenSSH server on
/// 127.0.0.1 started by each test; the "board" is this machine, its kernel log a file in kmsg
/// format as the simulator writes it, or this machine's real /dev/kmsg (as root). Serialized
/// (each test starts its own sshd); no test here runs the binary, so none holds a Harness slot.
@Suite(.serialized, .enabled(if: !SshServer.missing, "needs /usr/sbin/sshd (Debian's openssh-server; scripts/setup installs it)"))
struct SshKernelLogTests {
    /// What the source delivered, gathered on the reading thread.
    final class Gathered: @unchecked Sendable {
        let inbox = LineInbox()
        private(set) var lines: [SourceLine] = []
        private(set) var notices: [SourceNotice] = []

        var texts: [String] { lines.map(\.text) }
        var opened: Int { notices.filter { if case .opened = $0 { return true } else { return false } }.count }
        var lost: [String] { notices.compactMap { if case .lost(let s) = $0 { return s } else { return nil } } }

        /// Polls until `condition` holds (true) or `seconds` pass (false).
        @discardableResult
        func wait(seconds: Double = 60, _ condition: (Gathered) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while true {
                for item in inbox.drain() {
                    switch item {
                    case .line(let l): lines.append(l)
                    case .notice(_, let n, _): notices.append(n)
                    }
                }
                if condition(self) { return true }
                if Date() >= deadline { return false }
                usleep(10_000)
            }
        }
    }

    static func append(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    static func connection(_ server: SshServer) -> SshConnection {
        SshConnection(target: SshTarget(destination: "root@127.0.0.1", device: "/dev/ttyRPMSG30", options: server.clientOptions))
    }

    static let kick = "imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)"

    @Test func aFileOnTheBoardIsFollowedFromTheRunsStartAsRecordsAndPlainLines() async throws {
        let (got, stopTook, path) = try await offPool { () throws -> (Gathered, Double, String) in
            let server = try SshServer.start()
            defer { server.stop() }
            let path = Harness.tempDir() + "/kmsg"
            Self.append("3,1,100,-;from before the run\nplain from before\n", to: path)
            let connection = Self.connection(server)
            defer { connection.close() }
            let source = SshKmsgSource(connection: connection, path: path)
            let got = Gathered()
            source.start(into: got.inbox)
            defer { source.stop() }
            got.wait { $0.opened > 0 || !$0.lost.isEmpty }
            Self.append("3,100,5000,-;\(Self.kick)\n SUBSYSTEM=platform\n", to: path)
            Self.append("a plain line\n6,101,5100,-;rpmsg ", to: path)
            Self.append("tty driver\n", to: path)  // one record written in two pieces
            got.wait { $0.lines.count >= 3 }
            let started = Date()
            source.stop()
            return (got, Date().timeIntervalSince(started), path)
        }
        #expect(got.notices.first == .opened("root@127.0.0.1:\(path) over ssh"), "\(got.notices)")
        #expect(got.texts == [Self.kick, "a plain line", "rpmsg tty driver"], "older lines skipped, the continuation ignored: \(got.texts)")
        #expect(got.lines.map(\.level) == [3, nil, 6])
        #expect(got.lines.first?.kernelSeq == 100 && got.lines.first?.kernelMicros == 5000)
        #expect(got.lost.isEmpty, "\(got.notices)")
        #expect(stopTook < 1, "stop() returned in \(stopTook) s")
    }

    @Test func theConnectionDyingIsLostAndTheLogGoesOnWithoutGapsOrRepeatsWhenSshAnswersAgain() async throws {
        let got = try await offPool { () throws -> Gathered in
            let server = try SshServer.start()
            defer { server.stop() }
            let path = Harness.tempDir() + "/kmsg"
            Self.append("6,1,1,-;old\n", to: path)
            let connection = Self.connection(server)
            defer { connection.close() }
            let source = SshKmsgSource(connection: connection, path: path)
            let got = Gathered()
            source.start(into: got.inbox)
            defer { source.stop() }
            got.wait { $0.opened > 0 }
            Self.append("6,2,2,-;before the loss\nhalf of a ", to: path)
            got.wait { $0.lines.count >= 1 }
            // As a board losing power would: the server side of the connection vanishes.
            for pid in server.connectionProcesses() { kill(pid, SIGKILL) }
            got.wait { !$0.lost.isEmpty }
            Self.append("line\n6,3,3,-;while away\n", to: path)
            got.wait { $0.opened >= 2 && $0.lines.count >= 3 }
            Self.append("6,4,4,-;after the return\n", to: path)
            got.wait { $0.lines.count >= 4 }
            return got
        }
        #expect(got.texts == ["before the loss", "half of a line", "while away", "after the return"], "\(got.texts) \(got.notices)")
        #expect(got.lost.count == 1, "one notice for the outage: \(got.lost)")
        #expect(got.lost.first?.contains("connection to the board lost") == true, "\(got.lost)")
        #expect(got.opened == 2, "\(got.notices)")
    }

    @Test func aPathMissingOnTheBoardIsLostNamingTheHostAndThePath() async throws {
        let got = try await offPool { () throws -> Gathered in
            let server = try SshServer.start()
            defer { server.stop() }
            let connection = Self.connection(server)
            defer { connection.close() }
            let source = SshKmsgSource(connection: connection, path: "/nonexistent/kmsg")
            let got = Gathered()
            source.start(into: got.inbox)
            defer { source.stop() }
            got.wait { !$0.lost.isEmpty }
            return got
        }
        let lost = try #require(got.lost.first, "\(got.notices)")
        #expect(lost.contains("root@127.0.0.1") && lost.contains("/nonexistent/kmsg") && lost.contains("No such file"), "\(lost)")
        #expect(got.opened == 0 && got.lines.isEmpty)
    }

    /// One line into this machine's real kernel log (a new descriptor per line: /dev/kmsg
    /// rate-limits writes per open file).
    static func inject(_ line: String) -> Bool {
        let fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    /// `inject`, throwing when it cannot (no expectations on the thread of an `offPool` body).
    static func injected(_ line: String) throws {
        guard inject(line) else { throw SshServer.SshServerError(message: "cannot write to /dev/kmsg: errno \(errno)") }
    }

    /// The real /dev/kmsg of "the board" (this machine) through ssh: the character-device path
    /// (`cat`, the boot id and uptime header). Other tests write into the same kernel log, so
    /// only this test's tagged lines are looked at, and none of them would match a rule (a run
    /// watching this machine's /dev/kmsg meanwhile must not see a kick failure from here).
    @Test(.enabled(if: getuid() == 0, "needs root to write and read /dev/kmsg"))
    func theBoardsDevKmsgIsReadFromTheRunsStartAndGoesOnAfterTheLastRecordWhenSshAnswersAgain() async throws {
        let tag = "rpmsg-soak-ssh-\(UUID().uuidString.prefix(8))"
        let (got, mine) = try await offPool { () throws -> (Gathered, [String]) in
            let server = try SshServer.start()
            defer { server.stop() }
            try Self.injected("<3>\(tag) from before the run")
            let connection = Self.connection(server)
            defer { connection.close() }
            let source = SshKmsgSource(connection: connection)
            let got = Gathered()
            func mine() -> [String] { got.texts.filter { $0.hasPrefix(tag) } }
            source.start(into: got.inbox)
            defer { source.stop() }
            got.wait { $0.opened > 0 || !$0.lost.isEmpty || !$0.notices.isEmpty }
            try Self.injected("<3>\(tag) hello from the board")
            got.wait { _ in mine().count >= 1 }
            for pid in server.connectionProcesses() { kill(pid, SIGKILL) }
            got.wait { !$0.lost.isEmpty }
            try Self.injected("<4>\(tag) while away")
            got.wait { $0.opened >= 2 && mine().count >= 2 }
            try Self.injected("<6>\(tag) after the return")
            got.wait { _ in mine().count >= 3 }
            return (got, mine())
        }
        #expect(got.notices.first == .opened("root@127.0.0.1:/dev/kmsg over ssh"), "\(got.notices)")
        #expect(mine == ["\(tag) hello from the board", "\(tag) while away", "\(tag) after the return"],
                "history skipped, nothing repeated after the reconnect, nothing lost: \(mine) \(got.notices)")
        let levels = got.lines.filter { $0.text.hasPrefix(tag) }.map(\.level)
        #expect(levels == [3, 4, 6])
        #expect(got.lines.filter { $0.text.hasPrefix(tag) }.allSatisfy { $0.kernelSeq != nil })
        #expect(got.lost.count == 1 && got.lost.first?.contains("connection to the board lost") == true, "\(got.notices)")
    }
}

/// A soak whose kernel log is read over ssh. In SshLinkTests (serialized): it holds a simulator
/// (one of Harness's binary slots) while its run waits for another, and a suite of its own would
/// be a fourth such holder of the four slots.
extension SshLinkTests {
    @Test func aKickFailureOnTheSimulatedBoardReachesTheRunsKernelLogOverSsh() async throws {
        let server = try await offPool { try SshServer.start() }
        defer { server.stop() }
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try await Harness.start(["sim", "--dir", simDir, "--uart-baud", "0", "--seed", "5",
                                           "--faults", "kick-halt:mtbf=1500ms"])
        defer { Harness.kill9(sim) }
        #expect(try await Harness.waitForPath("\(simDir)/ttyRPMSG30"))
        let board = "\(dir)/board-ssh.yaml"
        try """
        name: sim-over-ssh
        link: {ssh: root@127.0.0.1, device: \(simDir)/ttyRPMSG30, ssh_options: \(server.clientOptionsYAML)}
        kernel_log: {source: ssh, path: \(simDir)/kmsg}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let check = try await Harness.run(["check", Harness.fixture("short.yaml"), "--board", board])
        #expect(check.stdout.contains("kernel log: ssh \(simDir)/kmsg on root@127.0.0.1"), "\(check.stdout)")
        let profile = "\(dir)/kick.yaml"
        try """
        name: kick
        seed: 3
        report_interval: 1s
        link: {hang_timeout: 3s, loss_timeout: 2s, drain_timeout: 2s, open_timeout: 30s}
        phases:
          - {name: steady, duration: 20s, rate: 50, size: 64, window: 4, payload: binary}
        """.write(toFile: profile, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", profile, "--board", board, "--out", dir])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let kernelLog = try String(contentsOfFile: "\(try #require(r.runFolder))/kernel.log", encoding: .utf8)
        #expect(kernelLog.contains("opened root@127.0.0.1:\(simDir)/kmsg over ssh"), "\(kernelLog)")
        #expect(kernelLog.contains("<3> \(SshKernelLogTests.kick)"), "read over ssh: \(kernelLog)")
        let failures = try #require(try r.summary()["link_failures"] as? [[String: Any]])
        let diagnosis = failures.first?["diagnosis"] as? String ?? ""
        #expect(diagnosis.contains("kick timeout on vq 1"), "\(diagnosis)")
    }
}
