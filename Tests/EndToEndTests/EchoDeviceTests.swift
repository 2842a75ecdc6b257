import Foundation
import Testing

/// The built binary against echo devices nobody in this project wrote: socat's pty with cat
/// behind it, and a Python pty echo that misbehaves exactly once.
/// Not serialized: how many binaries run at once is bounded for the whole suite by Harness.slots.
@Suite struct EchoDeviceTests {
    @Test func socatEchoDevicePasses() async throws {
        let dir = Harness.tempDir()
        let device = "\(dir)/ttyECHO"
        let socat = try Harness.background("/usr/bin/socat", ["pty,raw,echo=0,link=\(device)", "exec:cat"])
        defer { Harness.stop(socat) }
        #expect(try await Harness.waitForPath(device))
        let board = try Harness.writeBoard(device: device, in: dir)
        let r = try await Harness.run(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let t = try r.totals()
        #expect(t["echoed"] == t["sent"], "\(t)")
        #expect(Self.heldTheRate(t["sent"]), "\(t)")
    }

    @Test func aLinkNamedByAGlobIsFoundWhenItAppearsLate() async throws {
        let dir = Harness.tempDir()
        let board = "\(dir)/glob.yaml"
        try "name: glob\nlink: {device: \(dir)/ttyRPMSG*}\n\(Harness.quietKernel)".write(toFile: board, atomically: true, encoding: .utf8)
        // The echo device appears after the run has looked for it and started waiting (a driver
        // probing late). Made as soon as the binary says it waits (watched from a thread of its
        // own), not after a fixed second: the binary may wait for a free slot or start slowly on
        // a busy machine and then find it at once, and a test resumed late could miss the 5 s.
        let soak = try await Harness.start(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir])
        defer { Harness.kill9(soak) }
        let socat = try await Harness.when({ soak.stderrSoFar.contains("is not there yet") || !soak.process.isRunning }) {
            soak.process.isRunning ? try Harness.background("/usr/bin/socat", ["pty,raw,echo=0,link=\(dir)/ttyRPMSG31", "exec:cat"]) : nil
        }
        defer { if let socat { Harness.stop(socat) } }
        #expect(socat != nil, "the binary said it waits for the device")
        let r = await Harness.finish(soak)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("\(dir)/ttyRPMSG* is not there yet; waiting up to"), "\(r.stderr)")
        let t = try r.totals()
        #expect(t["echoed"] == t["sent"], "\(t)")
        #expect(Self.heldTheRate(t["sent"]), "\(t)")
    }

    @Test func aGlobMatchingTwoDevicesIsAnInfrastructureErrorNamingBoth() async throws {
        let dir = Harness.tempDir()
        let a = try Harness.background("/usr/bin/socat", ["pty,raw,echo=0,link=\(dir)/ttyRPMSG30", "exec:cat"])
        let b = try Harness.background("/usr/bin/socat", ["pty,raw,echo=0,link=\(dir)/ttyRPMSG31", "exec:cat"])
        defer { Harness.stop(a); Harness.stop(b) }
        #expect(try await Harness.waitForPath("\(dir)/ttyRPMSG30"))
        #expect(try await Harness.waitForPath("\(dir)/ttyRPMSG31"))
        let board = "\(dir)/glob.yaml"
        try "name: glob\nlink: {device: \(dir)/ttyRPMSG*}\n\(Harness.quietKernel)".write(toFile: board, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("2 devices match \(dir)/ttyRPMSG*: \(dir)/ttyRPMSG30, \(dir)/ttyRPMSG31; name one"), "\(r.stdout)")
    }

    /// fault.yaml has 150 messages due in its 3 s phase (50/s), the last at 2.98 s. A message is
    /// sent only before the phase ends, and a sender that falls behind skips ahead instead of
    /// bursting (TrafficSchedule), so on a busy machine some are left unsent: that is the tool
    /// working, not losing. Exactly 150 failed once with 149 sent; 145-150 failed with 144 in
    /// a CI run beside every other test. 85%, the profile's own min_rate_ratio, and every one echoed.
    static func heldTheRate(_ sent: Int?) -> Bool { (128...150).contains(sent ?? 0) }

    /// What the tester must count for each way the echo misbehaves, and the criterion it fails.
    static let faults: [(fault: String, expect: [String: Int], failed: String)] = [
        ("drop", ["lost": 1, "corrupted": 0, "duplicated": 0, "out_of_order": 0], "lost"),
        ("flip", ["lost": 0, "corrupted": 1, "duplicated": 0, "out_of_order": 0], "corrupted"),
        ("dup", ["lost": 0, "corrupted": 0, "duplicated": 1, "out_of_order": 0], "duplicated"),
        ("stop", ["lost": 0, "corrupted": 0, "duplicated": 0, "out_of_order": 0], "hangs"),
        ("hangup", ["lost": 0, "corrupted": 0, "duplicated": 0, "out_of_order": 0], "link_lost"),
    ]

    @Test(arguments: faults.map(\.fault))
    func misbehavingEchoIsCountedExactlyAndFailsTheRun(fault: String) async throws {
        let expected = try #require(Self.faults.first { $0.fault == fault })
        let dir = Harness.tempDir()
        let device = "\(dir)/ttyBAD"
        let echo = try Harness.background("/usr/bin/python3", [Harness.fixture("misbehaving_echo.py"),
                                          "--link", device, "--size", "64", "--at", "10", "--fault", fault])
        defer { Harness.stop(echo) }
        #expect(try await Harness.waitForPath(device))
        let board = try Harness.writeBoard(device: device, in: dir)
        let r = try await Harness.run(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let totals = try r.totals()
        for (key, value) in expected.expect { #expect(totals[key] == value, "\(fault): \(key) in \(totals)") }
        let summary = try r.summary()
        let criteria = try #require(summary["criteria"] as? [[String: Any]])
        let failed = criteria.filter { $0["passed"] as? Bool == false }.compactMap { $0["name"] as? String }
        #expect(failed.contains(expected.failed), "\(fault): failed criteria \(failed)")
        #expect(r.stdout.contains("FAILED \(expected.failed)"), "\(r.stdout)")
        if fault == "stop" || fault == "hangup" {
            let failures = try #require(summary["link_failures"] as? [[String: Any]])
            #expect(failures.count == 1)
            #expect(failures.first?["kind"] as? String == (fault == "stop" ? "hang" : "link_lost"))
            #expect(summary["end_reason"] as? String == "link_failed")
        } else {
            #expect(summary["end_reason"] as? String == "completed")
        }
        let folder = try #require(r.runFolder)
        #expect(try Harness.junitSchemaProblem("\(folder)/junit.xml") == nil)
        let junit = try String(contentsOfFile: "\(folder)/junit.xml", encoding: .utf8)
        #expect(junit.contains("<failure"))
    }

    static let greeting = "hello world!"
    static let greetingHex = "68 65 6c 6c 6f 20 77 6f 72 6c 64 21"

    /// Runs fault.yaml against misbehaving_echo.py with the driver's greeting waiting in the tty.
    static func runWithGreeting(fault: String, count: Int = 1) async throws -> (Harness.Result, String) {
        let dir = Harness.tempDir()
        let device = "\(dir)/ttyBAD"
        let echo = try Harness.background("/usr/bin/python3", [Harness.fixture("misbehaving_echo.py"),
                                          "--link", device, "--size", "64", "--at", "10", "--fault", fault,
                                          "--count", "\(count)", "--greeting", greeting])
        defer { Harness.stop(echo) }
        #expect(try await Harness.waitForPath(device))
        let board = try Harness.writeBoard(device: device, in: dir)
        let r = try await Harness.run(["run", Harness.fixture("fault.yaml"), "--board", board, "--out", dir])
        let folder = try #require(r.runFolder)
        let events = try String(contentsOfFile: "\(folder)/events.jsonl", encoding: .utf8)
        return (r, events)
    }

    @Test func aGreetingWaitingAtOpenIsDrainedNotedAndTheCleanRunPasses() async throws {
        let (r, events) = try await Self.runWithGreeting(fault: "none")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let t = try r.totals()
        #expect(t["stray_bytes"] == 0 && t["echoed"] == t["sent"], "\(t)")
        #expect(events.contains("drained 12 bytes waiting in") && events.contains(Self.greetingHex), "no drain note in the timeline")
    }

    /// Byte damage at a random place of one message (see misbehaving_echo.py), and what it must
    /// be counted as: every byte is accounted for, the run fails on stray_bytes.
    @Test(arguments: ["insert", "repeat", "cut"], [1, 2, 5, 20])
    func byteDamageFailsTheRunWithItsClass(fault: String, count: Int) async throws {
        let (r, events) = try await Self.runWithGreeting(fault: fault, count: count)
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let t = try r.totals()
        func n(_ key: String) -> Int { t[key] ?? 0 }
        let failed = try #require(try r.summary()["criteria"] as? [[String: Any]])
            .filter { $0["passed"] as? Bool == false }.compactMap { $0["name"] as? String }
        #expect(failed.contains("stray_bytes"), "\(fault) \(count): failed criteria \(failed)")
        #expect(n("lost") == 0 && n("duplicated") == 0 && n("out_of_order") == 0, "\(fault) \(count): \(t)")
        switch fault {
        case "insert":
            // Inside the frame: inserted, the frame itself echoed; right after it: extended.
            #expect(n("stray_bytes") == count && n("stray_inserted") + n("stray_extended") == count && n("corrupted") == 0,
                    "\(fault) \(count): \(t)")
        case "repeat":
            #expect(n("stray_bytes") == count && n("stray_repeated") == count && n("corrupted") == 0, "\(fault) \(count): \(t)")
        default:
            // The message is corrupted; what is left of its frame is stray.
            #expect(n("corrupted") == 1 && n("stray_bytes") == 64 - count, "\(fault) \(count): \(t)")
            #expect(failed.contains("corrupted"), "\(failed)")
        }
        #expect(r.stdout.contains("FAILED stray_bytes: "), "\(r.stdout)")
        #expect(events.contains("\"kind\":\"stray\""), "the stray run is on the timeline")
        #expect(events.contains("drained 12 bytes waiting in"), "the greeting was drained, not judged")
    }

    @Test func aMissingDeviceIsAnInfrastructureErrorWithReports() async throws {
        let dir = Harness.tempDir()
        let board = try Harness.writeBoard(device: "\(dir)/ttyRPMSG30", in: dir)
        let profile = "\(dir)/p.yaml"
        try String(contentsOfFile: Harness.fixture("fault.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "open_timeout: 5s", with: "open_timeout: 300ms")
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let r = try await Harness.run(["run", profile, "--board", board, "--out", dir])
        #expect(r.status == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(try r.summary()["verdict"] as? String == "error")
        #expect(r.stdout.contains("\(dir)/ttyRPMSG30"), "the message names the device: \(r.stdout)")
        // Nothing was sent: no criterion passed, none failed; the JUnit has no green case.
        let criteria = try #require(try r.summary()["criteria"] as? [[String: Any]])
        #expect(!criteria.isEmpty && criteria.allSatisfy { $0["not_evaluated"] as? Bool == true && $0["passed"] as? Bool == false }, "\(criteria)")
        let folder = try #require(r.runFolder)
        let junit = try String(contentsOfFile: "\(folder)/junit.xml", encoding: .utf8)
        let cases = junit.components(separatedBy: "<testcase ").dropFirst()
        #expect(cases.allSatisfy { $0.contains("<error") || $0.contains("<skipped") }, "\(junit.prefix(3000))")
        #expect(try String(contentsOfFile: "\(folder)/report.md", encoding: .utf8).contains("| not evaluated |"))
        #expect(r.stderr.components(separatedBy: "ERROR (infrastructure").count - 1 == 1, "one error line on stderr: \(r.stderr)")
    }
}
