import BoardSimulator
import Foundation
import SoakCore
import SoakLinux
import TestSupport
import Testing

/// The simulated M7 UART behaves like a USB-UART adapter: it stays open while the board is off
/// (silent), so a terminal on it reads the next boot banner without reopening. Real ptys.
struct SimulatedUartTests {
    @Test func aTerminalOnTheUartReadsTheBannerAfterAPowerCycleWithoutReopening() async throws {
        try await offPool {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sim-uart-\(UUID().uuidString)").path
            let sim = SimulatedBoard(options: .init(config: SimulatorConfig(uartBaud: 0, bootTime: .milliseconds(100)), seed: 1, directory: dir))
            sim.start()
            defer { sim.stop() }
            try #require(sim.waitUntilBooted(timeout: .seconds(60)) != nil)
            let uart = try TtyDevice.open("\(dir)/ttyM7UART", .readOnly, keepingInput: true)
            defer { uart.close() }
            var seen = ""
            var buffer = [UInt8](repeating: 0, count: 4096)
            func read(until text: String, count: Int, seconds: Double) -> Bool {
                let deadline = Date().addingTimeInterval(seconds)
                while Date() < deadline {
                    if seen.components(separatedBy: text).count - 1 >= count { return true }
                    guard let events = try? uart.fd.poll(for: .readable, timeout: 50_000_000), !events.isEmpty else { continue }
                    if !events.isDisjoint(with: [.hangup, .error]) && !events.contains(.readable) { return false }
                    let n = (try? buffer.withUnsafeMutableBytes { (b) throws(Errno) in try uart.fd.read(into: b) }) ?? 0
                    if n > 0 { seen += String(decoding: buffer[0..<n], as: UTF8.self) }
                }
                return seen.components(separatedBy: text).count - 1 >= count
            }
            #expect(read(until: "Nameservice sent", count: 1, seconds: 60), "the first boot's banner: \(seen)")
            try sim.off()
            try sim.on()
            #expect(read(until: "Nameservice sent", count: 2, seconds: 60), "the banner of the boot after the power cycle, on the same open UART: \(seen)")
            #expect(seen.components(separatedBy: "RPMSG String Echo FreeRTOS RTOS API Demo").count - 1 == 2)
        }
    }
}
