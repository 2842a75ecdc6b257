import BoardSimulator
import Foundation
import Glibc
import SoakCore
import SoakLinux
import TestSupport
import Testing

/// remoteproc, a tty glob and `check` on a board reached over ssh, against a real OpenSSH server
/// on 127.0.0.1 started by each test. The board is the simulated one running in this process
/// (its `remoteproc/` folder answers `stop` and `start` as sysfs does): no binary slot of
/// Harness is held while waiting, so this suite cannot starve SshLinkTests and the others.
@Suite(.serialized, .enabled(if: !SshServer.missing, "needs /usr/sbin/sshd (Debian's openssh-server; scripts/setup installs it)"))
struct SshRemoteprocTests {
    /// The simulated board in this process, its devices in `dir`, booted.
    static func startSim(in dir: String, startedByUBoot: Bool = false) throws -> SimulatedBoard {
        var config = SimulatorConfig.default
        config.uartBaud = 0
        config.m7StartedByBootLoader = startedByUBoot
        let sim = SimulatedBoard(options: .init(config: config, seed: 5, directory: dir))
        sim.start()
        try #require(sim.waitUntilBooted(timeout: .seconds(60)) != nil, "the simulated board did not boot")
        return sim
    }

    static func board(_ server: SshServer, device: String, extra: String = "", options: String? = nil) throws -> BoardConfig {
        try ConfigLoader.parseBoard(text: """
            name: lab
            link: {ssh: root@127.0.0.1, device: \(device), ssh_options: \(options ?? server.clientOptionsYAML)}
            \(extra)
            """, file: "board.yaml")
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    static func eventually(_ seconds: Double = 60, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() >= deadline { return false }
            usleep(20_000)
        }
        return true
    }

    @Test func theM7IsRestartedThroughRemoteprocOnTheBoardOverSsh() async throws {
        try await offPool {
            let server = try SshServer.start()
            defer { server.stop() }
            let dir = Harness.tempDir() + "/board"
            let sim = try Self.startSim(in: dir)
            defer { sim.stop() }
            #expect(Self.eventually { readText("\(dir)/remoteproc/state")?.hasPrefix("running") == true })
            let board = try Self.board(server, device: "\(dir)/ttyRPMSG30",
                                       extra: "remoteproc: {path: \(dir)/remoteproc, firmware: fw-over-ssh.elf, timeout: 60s}")
            let core = try #require(BoardParts(board: board).remoteCore)
            #expect(core.unavailable() == nil)
            try core.restart(interrupted: { false })
            #expect(readText("\(dir)/remoteproc/firmware") == "fw-over-ssh.elf", "the firmware name was written on the board")
            #expect(readText("\(dir)/kmsg")?.contains("stopped remote processor imx-rproc") == true, "the M7 was stopped")
            #expect(readText("\(dir)/remoteproc/state")?.hasPrefix("running") == true)
            #expect(Self.eventually { sim.status.booted }, "the M7 runs again")
        }
    }

    @Test func anM7StartedByTheBootLoaderCannotBeRestartedOverSshAndAMissingPathNamesTheHost() async throws {
        try await offPool {
            let server = try SshServer.start()
            defer { server.stop() }
            let dir = Harness.tempDir() + "/board"
            let sim = try Self.startSim(in: dir, startedByUBoot: true)
            defer { sim.stop() }
            #expect(Self.eventually { readText("\(dir)/remoteproc/state")?.hasPrefix("attached") == true })
            let attached = try #require(BoardParts(board: try Self.board(server, device: "/dev/ttyRPMSG30",
                                                                         extra: "remoteproc: {path: \(dir)/remoteproc}")).remoteCore)
            let why = attached.unavailable() ?? ""
            #expect(why.contains("started by the boot loader") && why.contains("'attached'"), "\(why)")
            #expect(throws: RecoveryFailure.self) { try attached.restart(interrupted: { false }) }

            let missing = try #require(BoardParts(board: try Self.board(server, device: "/dev/ttyRPMSG30",
                                                                        extra: "remoteproc: {path: \(dir)/no-remoteproc}")).remoteCore)
            #expect(missing.unavailable() == "remoteproc on root@127.0.0.1: cannot read \(dir)/no-remoteproc/state: No such file or directory")

            // check's test read of a kernel log on the board: what dd (or the shell) says, naming the host.
            let connection = SshConnection(target: SshTarget(destination: "root@127.0.0.1", device: "/dev/null", options: server.clientOptions))
            defer { connection.close() }
            let probe = SshBoardProbe(connection: connection)
            #expect(probe.kernelLog("\(dir)/no-kmsg").line == "kernel log: cannot read \(dir)/no-kmsg on root@127.0.0.1: No such file or directory")
            let folder = probe.kernelLog(dir)
            #expect(!folder.found && folder.line.hasSuffix("Is a directory"), "\(folder)")
            #expect(probe.kernelLog("\(dir)/kmsg").found, "a readable file (the simulator's kernel log)")
        }
    }

    @Test func aGlobOnTheBoardOpensItsOneMatchAndSaysWhyWhenThereIsNoneOrMore() async throws {
        try await offPool {
            let server = try SshServer.start()
            defer { server.stop() }
            let dir = Harness.tempDir()
            let first = try PseudoTerminal(), second = try PseudoTerminal()
            let glob = "\(dir)/ttyRPMSG*"
            let connection = SshConnection(target: SshTarget(destination: "root@127.0.0.1", device: glob, options: server.clientOptions))
            defer { connection.close() }
            let opener = SshLinkOpener(connection: connection)
            func openFailure() -> String {
                do {
                    let link = try opener.open(timeout: .seconds(5), interrupted: { false })
                    link.close()
                    return "opened"
                } catch {
                    return error.reason
                }
            }

            let none = openFailure()
            #expect(none.contains("no tty matches \(glob) on the board") && none.contains("(tried for 5s)"), "\(none)")

            #expect(symlink(first.slavePath, "\(dir)/ttyRPMSG0") == 0)
            let link = try opener.open(timeout: .seconds(60), interrupted: { false })
            var through = false
            var buffer = [UInt8](repeating: 0, count: 64)
            #expect(Self.eventually {
                _ = Array("x".utf8).withUnsafeBytes { link.write($0) }
                _ = first.wait(forWrite: false, timeout: 50_000_000)
                through = through || first.readAvailable(into: &buffer) > 0
                return through
            }, "a byte written reaches the one tty the glob matched")
            link.close()

            #expect(symlink(second.slavePath, "\(dir)/ttyRPMSG1") == 0)
            let two = openFailure()
            #expect(two.contains("2 ttys match \(glob) on the board: \(dir)/ttyRPMSG0 \(dir)/ttyRPMSG1"), "\(two)")
        }
    }

    static func writeBoard(_ yaml: String, in dir: String) throws -> String {
        let path = "\(dir)/board-ssh.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func checkLooksAtTheSimulatedBoardOverSshAndFindsEveryPart() async throws {
        let server = try await offPool { try SshServer.start() }
        defer { server.stop() }
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try await offPool { try Self.startSim(in: simDir) }
        defer { sim.stop() }
        let board = try Self.writeBoard("""
            name: sim-over-ssh
            link: {ssh: root@127.0.0.1, device: \(simDir)/ttyRPMSG*, ssh_options: \(server.clientOptionsYAML)}
            kernel_log: {source: ssh}
            remoteproc: {path: \(simDir)/remoteproc}
            """, in: dir)
        let r = try await Harness.run(["check", Harness.fixture("short.yaml"), "--board", board])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("ssh: root@127.0.0.1 reachable (connected in "), "\(r.stdout)")
        #expect(r.stdout.contains("tty: \(simDir)/ttyRPMSG* on root@127.0.0.1 matches \(simDir)/ttyRPMSG30, a character device"), "\(r.stdout)")
        #expect(r.stdout.contains("kernel log: /dev/kmsg on root@127.0.0.1 is readable"), "\(r.stdout)")
        #expect(r.stdout.contains("remoteproc: \(simDir)/remoteproc on root@127.0.0.1 is running"), "\(r.stdout)")
        #expect(r.stdout.contains("remoteproc: \(simDir)/remoteproc on root@127.0.0.1 (over ssh)"), "\(r.stdout)")
    }

    @Test func checkOfAnSshBoardWithoutItsTtyOrWithARefusedKeyIsAnInfrastructureErrorNamingTheHost() async throws {
        let server = try await offPool { try SshServer.start() }
        defer { server.stop() }
        let dir = Harness.tempDir()
        let missing = try Self.writeBoard("""
            name: no-tty
            link: {ssh: root@127.0.0.1, device: \(dir)/ttyRPMSG30, ssh_options: \(server.clientOptionsYAML)}
            """, in: dir)
        let r = try await Harness.run(["check", Harness.fixture("short.yaml"), "--board", missing])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("tty on root@127.0.0.1: no such device: \(dir)/ttyRPMSG30"), "\(r.stdout)")

        let refused = try Self.writeBoard("""
            name: wrong-key
            link: {ssh: root@127.0.0.1, device: /dev/ttyRPMSG30, ssh_options: [-p, "\(server.port)", -i, \(dir)/no-such-key, -o, IdentitiesOnly=yes, -o, StrictHostKeyChecking=no, -o, UserKnownHostsFile=\(dir)/known_hosts]}
            """, in: dir)
        let k = try await Harness.run(["check", Harness.fixture("short.yaml"), "--board", refused])
        #expect(k.status == 3, "\(k.stdout)\n\(k.stderr)")
        #expect(k.stdout.contains("ssh: cannot reach root@127.0.0.1: ") && k.stdout.contains("Permission denied"), "\(k.stdout)")
        #expect(k.stdout.contains("the board refused the key"), "\(k.stdout)")
        let offline = try await Harness.run(["check", Harness.fixture("short.yaml"), "--board", refused, "--offline"])
        #expect(offline.status == 0 && !offline.stdout.contains("ssh: "), "\(offline.stdout)\n\(offline.stderr)")
    }
}
