import BoardSimulator
import Foundation
import SoakCore
import TestSupport
import Testing

/// A LAVA `docker` test action, played by stand-ins: no LAVA here. The device dictionary's
/// commands are environment variables that drive a standalone simulator (`rpmsg-soak sim --dir
/// D`: its power through `D/control`, its M7 UART the pty `D/ttyM7UART`), and `lava-test-case`
/// is a script on PATH that appends its arguments to a file. The simulator runs in the test
/// process (the same devices and control FIFO as `rpmsg-soak sim`): a test holds one of
/// Harness's binary slots only for its soak, never while waiting for one.
@Suite struct LavaStandInTests {
    /// Everything LAVA might have set in the test process's own environment, unset (empty counts
    /// as not set), so only what a test gives is there.
    static let noLava = ["LAVA_POWER_ON_COMMAND": "", "LAVA_POWER_OFF_COMMAND": "", "LAVA_HARD_RESET_COMMAND": "",
                         "LAVA_CONNECTION_COMMAND": ""]

    static func startSimulator(in dir: String, seed: UInt64, faults: String) async throws -> (SimulatedBoard, String) {
        let simDir = "\(dir)/board"
        let sim = try await offPool { try LabHostRecoveryTests.startSim(in: simDir, seed: seed, faults: faults) }
        return (sim, simDir)
    }

    static func writeProfile(in dir: String, duration: String) throws -> String {
        let path = "\(dir)/lava-night.yaml"
        try """
        name: lava-night
        seed: 9
        report_interval: 2s
        link: {hang_timeout: 2s, loss_timeout: 1s, drain_timeout: 2s, open_timeout: 10s}
        phases:
          - {duration: \(duration), rate: 20, size: 64, window: 4}
        recovery:
          ladder: [power-cycle]
          off_time: 200ms
          max_consecutive_failures: 3
          probe_timeout: 3s
          boot_timeout: 10s
        criteria: {hangs: 1000, min_echoed: 50}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A stand-in `lava-test-case` in its own folder: each call appends its arguments as one line.
    static func stubLavaTestCase(in dir: String) throws -> (bin: String, calls: String) {
        let bin = "\(dir)/lava-bin", calls = "\(dir)/lava-test-case.calls"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"$*\" >> '\(calls)'\n".write(toFile: "\(bin)/lava-test-case", atomically: true, encoding: .utf8)
        chmod("\(bin)/lava-test-case", 0o755)
        return (bin, calls)
    }

    /// The test cases of junit.xml, as LAVA must name them, with pass, fail or skip.
    static func junitCases(_ folder: String) throws -> [String] {
        let xml = try String(contentsOfFile: "\(folder)/junit.xml", encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"<testcase classname="[^"]*" name="([^"]*)" time="[^"]*"(/>|>\s*<(failure|error|skipped|system-out))"#)
        return regex.matches(in: xml, range: NSRange(xml.startIndex..., in: xml)).map { m in
            let name = String(xml[Range(m.range(at: 1), in: xml)!])
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
            let lava = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) ? $0 : "_" })
            let element = m.range(at: 3).location == NSNotFound ? "" : String(xml[Range(m.range(at: 3), in: xml)!])
            let result = ["failure": "fail", "error": "fail", "skipped": "skip"][element] ?? "pass"
            return "\(lava) --result \(result)"
        }
    }

    @Test func lavaStandInPowerCommandsRecoverKickHaltsAndEveryJUnitCaseGoesToTheStubLavaTestCase() async throws {
        let dir = Harness.tempDir()
        let (sim, simDir) = try await Self.startSimulator(in: dir, seed: 31, faults: "kick-halt:mtbf=2s")
        defer { sim.stop() }
        let relay = "\(dir)/relay"
        let board = "\(dir)/lava-board.yaml"
        try """
        name: lava-stand-in
        link: {device: \(simDir)/ttyRPMSG30}
        uart: {command: lava}
        kernel_log: {source: none}
        power: {kind: lava, timeout: 10s}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        let stub = try Self.stubLavaTestCase(in: dir)
        var env = Self.noLava
        env["LAVA_POWER_ON_COMMAND"] = "echo on >> '\(relay)' && echo 'power on' > '\(simDir)/control'"
        env["LAVA_POWER_OFF_COMMAND"] = "echo off >> '\(relay)' && echo 'power off' > '\(simDir)/control'"
        env["LAVA_CONNECTION_COMMAND"] = "exec cat '\(simDir)/ttyM7UART'"
        env["PATH"] = "\(stub.bin):" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let profile = try Self.writeProfile(in: dir, duration: "15s")
        let r = try await Harness.run(["run", profile, "--board", board, "--out", dir, "--lava"], environment: env)
        let summary = try r.summary()
        // A kick halt can come in the last seconds, after which no recovery follows: pass or fail,
        // the exit status is the run's own, --lava does not change it.
        let verdict = summary["verdict"] as? String
        #expect(r.status == (verdict == "passed" ? 0 : 1), "\(verdict ?? "-"): \(r.stdout)\n\(r.stderr)")
        let rel = try #require(summary["reliability"] as? [String: Any])
        let recoveries = rel["recoveries"] as? Int ?? 0
        #expect(recoveries >= 1, "\(rel)")
        #expect((rel["recovered_by"] as? [String: Int])?["power-cycle"] == recoveries, "\(rel)")
        // Each recovery ran LAVA's off and on commands; the board is left on.
        let switched = try String(contentsOfFile: relay, encoding: .utf8).split(separator: "\n")
        #expect(switched.filter { $0 == "off" }.count == recoveries && switched.last == "on", "\(switched)")
        let folder = try #require(r.runFolder)
        let events = try String(contentsOfFile: "\(folder)/events.jsonl", encoding: .utf8)
        #expect(events.contains("power off (lava): succeeded") && events.contains("power on (lava): succeeded"))
        // The UART through LAVA's connection command: the firmware's banner after every power-on,
        // read by the one command (the simulated UART, as a USB-UART, stays open while the board
        // is off).
        let uart = try String(contentsOfFile: "\(folder)/uart.log", encoding: .utf8)
        #expect(uart.components(separatedBy: "RPMSG String Echo FreeRTOS").count - 1 >= recoveries + 1, "\(uart.prefix(3000))")
        #expect(uart.contains("Get Message From Master Side"))
        #expect(uart.contains("-- uart: opened $LAVA_CONNECTION_COMMAND"), "\(uart.prefix(2000))")
        // lava-test-case: the JUnit cases one for one, then the measurements.
        let calls = try String(contentsOfFile: stub.calls, encoding: .utf8).split(separator: "\n").map(String.init)
        let cases = try Self.junitCases(folder)
        #expect(cases.count >= 2)
        #expect(Array(calls.prefix(cases.count)) == cases, "\(calls)\n\(cases)")
        let measurements = calls.dropFirst(cases.count).map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(measurements == ["latency-p99", "messages-per-second", "mtbf"], "\(calls)")
        #expect(calls.contains { $0.hasPrefix("latency-p99 --result pass --measurement ") && $0.hasSuffix(" --units us") })
        #expect(calls.contains { $0.hasPrefix("mtbf --result pass --measurement ") && $0.hasSuffix(" --units s") })
    }

    @Test func lavaStandInHardResetOnlyCyclesByTheResetAndWithoutLavaTestCaseTheRunSaysSoOnce() async throws {
        let dir = Harness.tempDir()
        let (sim, simDir) = try await Self.startSimulator(in: dir, seed: 32, faults: "kick-halt:mtbf=3s")
        defer { sim.stop() }
        let relay = "\(dir)/relay"
        let board = "\(dir)/lava-board.yaml"
        // Any command as the UART (not LAVA's variable): the generic part other farms use.
        try """
        name: lava-reset-only
        link: {device: \(simDir)/ttyRPMSG30}
        uart: {command: "exec cat '\(simDir)/ttyM7UART'"}
        kernel_log: {source: none}
        power: {kind: lava, timeout: 10s}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        var env = Self.noLava
        env["LAVA_HARD_RESET_COMMAND"] = "echo reset >> '\(relay)' && echo 'power off' > '\(simDir)/control' && sleep 0.3 && echo 'power on' > '\(simDir)/control'"
        env["PATH"] = "/usr/bin:/bin"  // no lava-test-case
        let profile = try Self.writeProfile(in: dir, duration: "12s")
        let r = try await Harness.run(["run", profile, "--board", board, "--out", dir, "--lava"], environment: env)
        let summary = try r.summary()
        let verdict = summary["verdict"] as? String
        #expect(r.status == (verdict == "passed" ? 0 : 1), "\(verdict ?? "-"): \(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.components(separatedBy: "lava-test-case is not on PATH").count - 1 == 1, "\(r.stderr)")
        let rel = try #require(summary["reliability"] as? [String: Any])
        let recoveries = rel["recoveries"] as? Int ?? 0
        #expect(recoveries >= 1, "\(rel)")
        let switched = try String(contentsOfFile: relay, encoding: .utf8).split(separator: "\n")
        #expect(switched.allSatisfy { $0 == "reset" } && switched.count == recoveries, "only resets, one per recovery: \(switched)")
        let events = try String(contentsOfFile: "\(r.runFolder ?? "")/events.jsonl", encoding: .utf8)
        #expect(events.contains("power hard reset (lava): succeeded"))
        #expect(!events.contains("power off (lava)") && !events.contains("power on (lava)"))
        let uart = try String(contentsOfFile: "\(r.runFolder ?? "")/uart.log", encoding: .utf8)
        #expect(uart.contains("-- uart: opened command 'exec cat"), "\(uart.prefix(2000))")
    }

    @Test func lavaStandInMissingVariableEndsTheRunWithExit3NamingItBeforeTheBoardIsTouched() async throws {
        let dir = Harness.tempDir()
        let relay = "\(dir)/relay"
        let board = "\(dir)/lava-board.yaml"
        try """
        name: lava-missing
        link: {device: \(dir)/no-such-tty}
        uart: {command: lava}
        kernel_log: {source: none}
        power: {kind: lava}
        """.write(toFile: board, atomically: true, encoding: .utf8)
        var env = Self.noLava
        env["LAVA_POWER_ON_COMMAND"] = "echo on >> '\(relay)'"
        env["LAVA_CONNECTION_COMMAND"] = "echo connected >> '\(relay)'; exec sleep 60"
        let profile = try Self.writeProfile(in: dir, duration: "5s")
        let r = try await Harness.run(["run", profile, "--board", board, "--out", dir], environment: env)
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("LAVA_POWER_OFF_COMMAND is not set, nor LAVA_HARD_RESET_COMMAND"), "\(r.stderr)")
        #expect(try r.summary()["end_reason"] as? String == "infrastructure")
        #expect(!FileManager.default.fileExists(atPath: relay), "no power command and no connection command ran")

        let check = try await Harness.run(["check", profile, "--board", board], environment: env)
        #expect(check.status == 3, "\(check.stdout)\n\(check.stderr)")
        #expect(check.stdout.contains("lava: LAVA_POWER_ON_COMMAND set: echo on"), "\(check.stdout)")
        #expect(check.stdout.contains("lava: LAVA_POWER_OFF_COMMAND not set") && check.stdout.contains("lava: LAVA_CONNECTION_COMMAND set:"))
        #expect(check.stdout.contains("missing: power kind lava: LAVA_POWER_OFF_COMMAND is not set"), "\(check.stdout)")
        let offline = try await Harness.run(["check", profile, "--board", board, "--offline"], environment: env)
        #expect(offline.status == 0, "\(offline.stdout)\n\(offline.stderr)")
    }
}
