import Foundation
import Testing

/// `rpmsg-soak sim` as a person uses it: a board to point any application at, with a power
/// switch on a FIFO.
@Suite(.serialized) struct SimCommandTests {
    @Test func standaloneBoardServesASoakAndItsPowerCycleIsAHangupForTheTester() async throws {
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try await Harness.start(["sim", "--dir", simDir, "--uart-baud", "0", "--seed", "4"])
        defer { Harness.kill9(sim) }
        #expect(try await Harness.waitForPath("\(simDir)/ttyRPMSG30"))
        #expect(try await Harness.waitForPath("\(simDir)/control"))
        let board = try Harness.writeBoard(device: "\(simDir)/ttyRPMSG30", in: dir)
        let soak = try await Harness.start(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir])
        defer { Harness.kill9(soak) }
        // The power cycle comes once the soak runs over the link (its first snapshot), not after
        // a fixed second a slow start could use up.
        let cycled = try await Harness.whenUnderWay(soak, intervals: 1) {
            try "power cycle 500ms\n".write(toFile: "\(simDir)/control", atomically: false, encoding: .utf8)
        }
        try #require(cycled != nil, "the soak did not get under way")
        let r = await Harness.finish(soak)
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let failures = try #require(try r.summary()["link_failures"] as? [[String: Any]])
        #expect(failures.first?["kind"] as? String == "link_lost")
        #expect(try await Harness.waitForPath("\(simDir)/ttyRPMSG30"), "power returns and the tty is back")
        let kmsg = try String(contentsOfFile: "\(simDir)/kmsg", encoding: .utf8)
        #expect(kmsg.components(separatedBy: "Install rpmsg tty driver!").count - 1 == 2, "booted twice: \(kmsg)")
        kill(sim.processIdentifier, SIGTERM)
        let s = await Harness.finish(sim)
        #expect(s.status == 0)
        #expect(s.stdout.contains("rpmsg tty:   \(simDir)/ttyRPMSG30"), "\(s.stdout)")
    }

    @Test func unknownFaultIsAConfigurationError() async throws {
        let r = try await Harness.run(["sim", "--faults", "kick:mtbf=2s"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown fault 'kick'"), "\(r.stderr)")
    }
}

/// The simulator's kernel lines through the real /dev/kmsg and the real kernel-log reader.
@Suite(.serialized) struct KmsgInjectTests {
    @Test(.enabled(if: getuid() == 0, "needs root to write and read /dev/kmsg"))
    func kickFailureInjectedIntoTheRealKernelLogIsDiagnosed() async throws {
        let dir = Harness.tempDir()
        let simDir = "\(dir)/board"
        let sim = try await Harness.start(["sim", "--dir", simDir, "--uart-baud", "115200", "--seed", "5", "--kmsg-inject",
                                     "--faults", "kick-halt:mtbf=1500ms"])
        defer { Harness.kill9(sim) }
        #expect(try await Harness.waitForPath("\(simDir)/ttyRPMSG30"))
        let board = "\(dir)/board.yaml"
        try """
        name: sim-over-kmsg
        link:
          device: \(simDir)/ttyRPMSG30
        uart:
          device: \(simDir)/ttyM7UART
          baud: 115200
        kernel_log:
          source: kmsg
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let failures = try #require(try r.summary()["link_failures"] as? [[String: Any]])
        let diagnosis = failures.first?["diagnosis"] as? String ?? ""
        #expect(diagnosis.contains("kick timeout on vq 1") && diagnosis.contains("core halted or clock-gated"), "\(diagnosis)")
        let kernelLog = try String(contentsOfFile: "\(try #require(r.runFolder))/kernel.log", encoding: .utf8)
        #expect(kernelLog.contains("<3> imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)"), "read back from /dev/kmsg: \(kernelLog)")
    }
}
