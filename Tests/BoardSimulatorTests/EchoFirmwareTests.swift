import BoardSimulator
import Foundation
import SoakCore
import SoakLinux
import TestSupport
import Testing

/// The firmware model against DOMAIN.md: chunking, UART lines, queue, UART cost.
struct EchoFirmwareTests {
    @Test func writesAreCutInto256ByteMessagesEachEchoedAfterItsPrint() {
        var fw = EchoFirmware(uartBaud: 115_200)
        _ = fw.receive(ArraySlice([UInt8](repeating: 0x41, count: 300)))
        #expect(fw.queue.map(\.count) == [256, 44])
        let first = fw.service(now: 0)
        guard case .uart(let line) = first.first else { Issue.record("no UART line"); return }
        #expect(line.hasSuffix("[len : 256]\r\n"))
        #expect(first.count == 1, "the echo waits for the print")
        let cost = fw.printCost(bytes: line.utf8.count)
        #expect(cost == UInt64(line.utf8.count) * 10 * 1_000_000_000 / 115_200)
        let later = fw.service(now: cost)
        #expect(later.first == .echo([UInt8](repeating: 0x41, count: 256)))
    }

    @Test func uartLineCutsTextAtTheFirstNulAsPercentSDoes() {
        #expect(EchoFirmware.uartLine(for: Array("ab".utf8) + [0] + Array("cd".utf8))
                == "Get Message From Master Side : \"ab\" [len : 5]\r\n")
        #expect(EchoFirmware.uartLine(for: [0x0D, 0x0A]) == "Get New Line From Master Side\r\n")
    }

    @Test func aFullQueueDropsSilently() {
        var fw = EchoFirmware(uartBaud: 115_200)
        for _ in 0..<300 { _ = fw.receive(ArraySlice([UInt8](repeating: 0x42, count: 10))) }
        #expect(fw.queue.count == 256)
        #expect(fw.droppedQueueFull == 44)
    }

    @Test func aHaltedCoreFallsSilent() {
        var fw = EchoFirmware(uartBaud: 0)
        fw.faults = [HaltAfterMessages(after: 2, uartLine: "ASSERT ERROR \" len < 512 \"\r\n")]
        for _ in 0..<4 { _ = fw.receive(ArraySlice([UInt8](repeating: 0x43, count: 8))) }
        let out = fw.service(now: 0)
        let echoes = out.filter { if case .echo = $0 { return true } else { return false } }
        #expect(echoes.count == 2)
        #expect(out.last == .uart("ASSERT ERROR \" len < 512 \"\r\n"))
        #expect(fw.halted)
        _ = fw.receive(ArraySlice([UInt8](repeating: 0x43, count: 8)))
        #expect(fw.service(now: 1_000_000_000).isEmpty)
    }
}

/// The simulated board behind a real pty, driven by the real runner and tty link.
@Suite(.serialized) struct SimulatedBoardTests {
    static func profile(hang: String = "1s", window: Int = 2) throws -> Profile {
        try ConfigLoader.parseProfile(text: """
        name: sim-test
        report_interval: 500ms
        link: {hang_timeout: \(hang), loss_timeout: 400ms, drain_timeout: 1s}
        phases:
          - {duration: 1500ms, rate: 40, size: 64, window: \(window)}
        """, file: "inline.yaml")
    }

    @Test func theBoardEchoesThroughARealPtyWithTheUartCost() async throws {
        let board = SimulatedBoard(config: SimulatorConfig(uartBaud: 115_200, bootTime: .milliseconds(100)))
        board.start()
        defer { board.stop() }
        let path = try #require(board.waitUntilBooted(timeout: .seconds(5)))
        let link = try TtyLink.open(path: path, timeout: .seconds(2))
        defer { link.close() }
        let sink = MemoryEventSink()
        let runner = try SoakRunner(profile: try Self.profile(), link: link, clock: MonotonicClock(), sink: sink,
                                runStartMono: MonotonicClock.read(), runStartWall: Date(), shouldStop: { false })
        let outcome = try await offPool { runner.run() }
        #expect(outcome.end.reason == .completed)
        // 60 are due in 1.5 s at 40/s, the last at 1475 ms. Never more. Fewer when the machine
        // is busy: a sender that falls behind skips ahead instead of bursting (TrafficSchedule),
        // and a CI run beside every other test has been seen 150 ms behind (54 sent). What must
        // hold whatever the load: every message sent is echoed, none is lost.
        #expect((30...60).contains(outcome.end.totals.sent), "\(outcome.end.totals)")
        #expect(outcome.end.totals.echoed == outcome.end.totals.sent)
        #expect(outcome.end.totals.lost == 0)
        // A pty keeps no write boundaries: two quick writes may reach the model as one rpmsg message.
        #expect(board.messagesProcessed >= 30 && board.messagesProcessed <= 60)
        #expect(runner.totalLatency.value(atPercentile: 50) > 5_000, "about 8.7 ms of UART print per 64-byte message")
    }

    @Test func aHaltedM7IsAHang() async throws {
        let board = SimulatedBoard(config: SimulatorConfig(uartBaud: 0, bootTime: .milliseconds(0)),
                                   faults: [HaltAfterMessages(after: 10)])
        board.start()
        defer { board.stop() }
        let path = try #require(board.waitUntilBooted(timeout: .seconds(5)))
        let link = try TtyLink.open(path: path, timeout: .seconds(2))
        defer { link.close() }
        let sink = MemoryEventSink()
        // Window 1: each message is echoed before the next is written, so the model never reads two
        // frames as one rpmsg message (a pty keeps no write boundaries) and halts after exactly 10.
        let runner = try SoakRunner(profile: try Self.profile(hang: "600ms", window: 1), link: link, clock: MonotonicClock(), sink: sink,
                                runStartMono: MonotonicClock.read(), runStartWall: Date(), shouldStop: { false })
        let outcome = try await offPool { runner.run() }
        #expect(outcome.end.reason == .linkFailed)
        #expect(outcome.hangs == 1)
        #expect(outcome.end.totals.echoed == 10)
        #expect(outcome.end.totals.lost == 0, "losses after the last echo died with the link")
        #expect(sink.events.contains { $0.type == .hang })
    }

    @Test func powerOffIsAHangupForTheTester() async throws {
        let board = SimulatedBoard(config: SimulatorConfig(uartBaud: 0, bootTime: .milliseconds(0)))
        board.start()
        let path = try #require(board.waitUntilBooted(timeout: .seconds(5)))
        let link = try TtyLink.open(path: path, timeout: .seconds(2))
        defer { link.close() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { board.stop() }
        let sink = MemoryEventSink()
        let runner = try SoakRunner(profile: try Self.profile(hang: "5s"), link: link, clock: MonotonicClock(), sink: sink,
                                runStartMono: MonotonicClock.read(), runStartWall: Date(), shouldStop: { false })
        let outcome = try await offPool { runner.run() }
        #expect(outcome.linkLosses == 1)
        #expect(outcome.end.reason == .linkFailed)
        #expect(sink.events.contains { $0.type == .linkLost })
    }
}
