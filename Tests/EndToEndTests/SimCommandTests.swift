import Foundation
import Testing

/// `rpmsg-soak sim` as a person uses it: a board to point any application at, with a power
/// switch on a FIFO.
@Suite(.serialized) struct SimCommandTests {
    @Test func standaloneBoardServesASoakAndItsPowerCycleIsAHangupForTheTester() throws {
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try Harness.start(["sim", "--dir", simDir, "--uart-baud", "0", "--seed", "4"])
        defer { kill(sim.processIdentifier, SIGKILL); _ = Harness.finish(sim) }
        #expect(Harness.waitForPath("\(simDir)/ttyRPMSG30"))
        #expect(Harness.waitForPath("\(simDir)/control"))
        let board = try Harness.writeBoard(device: "\(simDir)/ttyRPMSG30", in: dir)
        let soak = try Harness.start(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir])
        usleep(1_000_000)
        try "power cycle 500ms\n".write(toFile: "\(simDir)/control", atomically: false, encoding: .utf8)
        let r = Harness.finish(soak)
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let failures = try #require(try r.summary()["link_failures"] as? [[String: Any]])
        #expect(failures.first?["kind"] as? String == "link_lost")
        #expect(Harness.waitForPath("\(simDir)/ttyRPMSG30"), "power returns and the tty is back")
        let kmsg = try String(contentsOfFile: "\(simDir)/kmsg", encoding: .utf8)
        #expect(kmsg.components(separatedBy: "Install rpmsg tty driver!").count - 1 == 2, "booted twice: \(kmsg)")
        kill(sim.processIdentifier, SIGTERM)
        let s = Harness.finish(sim)
        #expect(s.status == 0)
        #expect(s.stdout.contains("rpmsg tty:   \(simDir)/ttyRPMSG30"), "\(s.stdout)")
    }

    @Test func unknownFaultIsAConfigurationError() throws {
        let r = try Harness.run(["sim", "--faults", "kick:mtbf=2s"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown fault 'kick'"), "\(r.stderr)")
    }
}
