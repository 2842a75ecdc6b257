import Foundation
import Testing

/// Faults of the simulated board, run through the binary and real ptys: the diagnosis line names
/// what the kernel and the M7 said, and the JUnit failure carries it. Every fault's diagnosis is
/// proven on virtual time (BoardSimulatorTests/VirtualDiagnosisTests); these two cover a UART
/// and kernel log read from real devices, and a real tty hang-up.
@Suite(.serialized) struct DiagnosisRunTests {
    static let cases: [(fault: String, extra: String, expect: [String])] = [
        ("kick-alive", "  heartbeat: 50ms\n", ["kick timeout on vq 1", "UART still printing", "interrupt masked or starved"]),
        ("hangup", "", ["link lost", "the kernel removed the RPMsg tty driver"]),
    ]

    @Test(arguments: cases.map(\.fault))
    func faultGivesItsDiagnosis(fault: String) async throws {
        let c = try #require(Self.cases.first { $0.fault == fault })
        let dir = Harness.tempDir()
        let board = "\(dir)/board.yaml"
        try """
        name: sim-\(fault)
        link:
          device: sim
        simulator:
          uart_baud: 115200
        \(c.extra)  faults:
            - {kind: \(fault), mtbf: 700ms, down: 5s}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir, "--seed", "3"])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let summary = try r.summary()
        let failures = try #require(summary["link_failures"] as? [[String: Any]])
        let diagnosis = try #require(failures.first?["diagnosis"] as? String, "no link failure: \(r.stdout)")
        for part in c.expect { #expect(diagnosis.contains(part), "\(fault): \(diagnosis)") }
        let folder = try #require(r.runFolder)
        let junit = try String(contentsOfFile: "\(folder)/junit.xml", encoding: .utf8)
        #expect(junit.contains("diagnosis: "), "the JUnit failure carries the diagnosis")
        #expect(try Harness.junitSchemaProblem("\(folder)/junit.xml") == nil)
        let uartLog = try String(contentsOfFile: "\(folder)/uart.log", encoding: .utf8)
        #expect(uartLog.contains("RPMSG String Echo FreeRTOS RTOS API Demo..."), "the boot banner is in uart.log")
        #expect(uartLog.contains(" -- uart: opened \(folder)/sim/ttyM7UART"), "uart.log says when the port opened")
        let events = try String(contentsOfFile: "\(folder)/events.jsonl", encoding: .utf8)
        #expect(events.contains("\"type\":\"finding\"") || fault == "hangup")
    }
}
