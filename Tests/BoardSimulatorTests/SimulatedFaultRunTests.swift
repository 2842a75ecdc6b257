import BoardSimulator
import Foundation
import SoakCore
import SoakLinux
import TestSupport
import Testing

/// Faults of the simulated board as the real runner sees them through real ptys: how each is
/// classified, and what the board leaves in its kernel log and on its UART.
@Suite(.serialized) struct SimulatedFaultRunTests {
    static func dir() -> String {
        let d = "/tmp/rpmsg-soak-tests-\(getpid())/sim-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func soak(_ board: SimulatedBoard, seconds: String = "3s", hang: String = "800ms") async throws -> (SoakRunner.Outcome, [Event]) {
        let profile = try ConfigLoader.parseProfile(text: """
        name: fault-run
        report_interval: 500ms
        link: {hang_timeout: \(hang), loss_timeout: 300ms, drain_timeout: 1s}
        phases:
          - {duration: \(seconds), rate: 100, size: 64, window: 4}
        criteria: {min_echoed: 1}
        """, file: "inline.yaml")
        // No await between the board's start and the soak: a test resumed late (the pool busy
        // with other tests) would start its soak after faults the board's clock already struck.
        let path = try #require(board.waitUntilBooted(timeout: .seconds(5)))
        let link = try TtyLink.open(path: path, timeout: .seconds(2))
        defer { link.close() }
        let sink = MemoryEventSink()
        let runner = try SoakRunner(profile: profile, link: link, clock: MonotonicClock(), sink: sink,
                                runStartMono: MonotonicClock.read(), runStartWall: Date(), shouldStop: { false })
        let outcome = try await offPool { runner.run() }
        return (outcome, sink.events)
    }

    @Test func kickTimeoutWithTheM7HaltedIsAHangAndTheKernelLogSaysErrMinus62() async throws {
        let d = Self.dir()
        let board = SimulatedBoard(options: .init(config: SimulatorConfig(uartBaud: 0, bootTime: .milliseconds(0),
                                                  faults: [FaultSpec(kind: .kickHalt, mtbf: .milliseconds(500))]),
                                                  seed: 21, directory: d))
        board.start()
        defer { board.stop() }
        let (outcome, events) = try await Self.soak(board)
        #expect(outcome.hangs == 1)
        #expect(outcome.end.reason == .linkFailed)
        #expect(outcome.end.totals.lost == 0)
        #expect(events.contains { $0.type == .hang })
        #expect(board.status.mode == .halted(.kickHalt))
        let kmsg = try String(contentsOfFile: "\(d)/kmsg", encoding: .utf8)
        let kicks = kmsg.split(separator: "\n").filter { $0.hasSuffix(";imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)") }
        #expect(kicks.count >= 2, "on the next send and on every later one: \(kmsg)")
        #expect(kicks.allSatisfy { $0.hasPrefix("3,") }, "logged at level err")
    }

    @Test func reopeningDoesNotClearAKickTimeoutOnlyAPowerCycleDoes() async throws {
        let d = Self.dir()
        let board = SimulatedBoard(options: .init(config: SimulatorConfig(uartBaud: 0, bootTime: .milliseconds(0),
                                                  faults: [FaultSpec(kind: .kickHalt, mtbf: .milliseconds(300))]),
                                                  seed: 22, directory: d))
        board.start()
        defer { board.stop() }
        let (first, _) = try await Self.soak(board, seconds: "2s", hang: "500ms")
        #expect(first.hangs == 1)
        let (reopened, _) = try await Self.soak(board, seconds: "1s", hang: "500ms")
        #expect(reopened.hangs == 1 && reopened.end.totals.echoed == 0, "a reopened tty does not bring the M7 back")
        board.powerOff()
        try await Task.sleep(for: .milliseconds(200))
        board.powerOn()
        let (afterCycle, _) = try await Self.soak(board, seconds: "200ms", hang: "2s")
        #expect(afterCycle.end.totals.echoed > 0, "after a power cycle the echo is back")
        #expect(board.status.powerCycles == 1)
    }

    @Test func ttyVanishingIsALinkLossAndTheTtyComesBack() async throws {
        let d = Self.dir()
        let board = SimulatedBoard(options: .init(config: SimulatorConfig(uartBaud: 0, bootTime: .milliseconds(0),
                                                  faults: [FaultSpec(kind: .hangup, mtbf: .milliseconds(400), down: .milliseconds(300))]),
                                                  seed: 23, directory: d))
        board.start()
        defer { board.stop() }
        let (outcome, _) = try await Self.soak(board, hang: "5s")
        #expect(outcome.linkLosses == 1)
        #expect(outcome.end.reason == .linkFailed)
        // More hang-ups follow (MTBF 400 ms), so look for the tty's return over a few seconds.
        var back = false
        for _ in 0..<300 where !back {
            back = FileManager.default.fileExists(atPath: "\(d)/ttyRPMSG30")
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(back, "the tty re-appeared")
        let kmsg = try String(contentsOfFile: "\(d)/kmsg", encoding: .utf8)
        #expect(kmsg.contains("rpmsg tty driver is removed"))
    }

    @Test func corruptAndDropAreCountedAsTheFaultsHappened() async throws {
        let board = SimulatedBoard(options: .init(config: SimulatorConfig(uartBaud: 0, bootTime: .milliseconds(0),
                                                  faults: [FaultSpec(kind: .corrupt, mtbf: .milliseconds(700)),
                                                           FaultSpec(kind: .drop, mtbf: .milliseconds(900))]),
                                                  seed: 24, directory: Self.dir()))
        board.start()
        defer { board.stop() }
        let (outcome, _) = try await Self.soak(board, hang: "2s")
        let faults = board.status.faults
        #expect(outcome.end.reason == .completed)
        #expect(outcome.end.totals.corrupted == UInt64(faults.filter { $0 == .corrupt }.count))
        // Each drop loses one rpmsg message. Through a pty (no write boundaries) two frames written
        // back to back on a busy machine can reach the model as one message: then both are lost.
        let drops = UInt64(faults.filter { $0 == .drop }.count)
        #expect(outcome.end.totals.lost >= drops && outcome.end.totals.lost <= 2 * drops, "\(outcome.end.totals.lost) lost, \(drops) drops")
        #expect(faults.count >= 2)
    }

    @Test func assertPrintsOnTheUartThenTheLinkHangs() async throws {
        let d = Self.dir()
        let board = SimulatedBoard(options: .init(config: SimulatorConfig(uartBaud: 0, bootTime: .milliseconds(0),
                                                  faults: [FaultSpec(kind: .assert, mtbf: .milliseconds(400))]),
                                                  seed: 25, directory: d))
        board.start()
        defer { board.stop() }
        _ = board.waitUntilBooted(timeout: .seconds(5))
        let uartPath = try #require(board.uartPath)
        let uart = try TtyLink(path: uartPath)
        defer { uart.close() }
        let (outcome, _) = try await Self.soak(board)
        #expect(outcome.hangs == 1)
        var text = ""
        var buf = [UInt8](repeating: 0, count: 65536)
        while case .done(let n, _) = buf.withUnsafeMutableBytes({ uart.read(into: $0) }) { text += String(decoding: buf[0..<n], as: UTF8.self) }
        #expect(text.contains("ASSERT ERROR \" len < 512 \""), "\(text.suffix(300))")
        #expect(text.contains("Get Message From Master Side : \"#R"))
    }
}
