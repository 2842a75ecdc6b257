import Testing
@testable import SoakCore

func profileError(_ text: String) -> ConfigError? {
    do {
        _ = try ConfigLoader.parseProfile(text: text, file: "file.yaml")
        return nil
    } catch {
        return error
    }
}

func boardError(_ text: String) -> ConfigError? {
    do {
        _ = try ConfigLoader.parseBoard(text: text, file: "board.yaml")
        return nil
    } catch {
        return error
    }
}

/// A one-phase profile; `line7` is the seventh line, inside the phase.
func onePhase(duration: String = "10s", rate: String = "100", size: String = "64", line7: String = "    window: 4") -> String {
    """
    name: t
    phases:
      - name: a
        duration: \(duration)
        rate: \(rate)
        size: \(size)
    \(line7)
    """
}

@Suite("ConfigLoader")
struct ConfigLoaderTests {
    @Test("a valid profile parses")
    func validProfile() throws {
        let text = """
        name: smoke
        description: two phases
        seed: 42
        report_interval: 5s
        link:
          hang_timeout: 5s
          loss_timeout: 1s
        defaults:
          window: 4
          payload: printable
        phases:
          - name: warmup
            duration: 30s
            rate: 100
            size: 64
          - name: sweep
            duration: 1m
            rate: max
            size: { sweep: { from: 24, to: 496, step: 59 } }
            window: 16
            payload: binary
          - duration: 2s
            rate: 2.5
            size: [21, 496]
            burst: { count: 5, every: 1s }
        criteria:
          lost: 3
          latency_p99: 20ms
        """
        let p = try ConfigLoader.parseProfile(text: text, file: "smoke.yaml")
        #expect(p.name == "smoke")
        #expect(p.description == "two phases")
        #expect(p.seed == 42)
        #expect(p.reportInterval == .seconds(5))
        #expect(p.link.hangTimeout == .seconds(5))
        #expect(p.link.lossTimeout == .seconds(1))
        #expect(p.link.drainTimeout == .seconds(5))
        #expect(p.phases.count == 3)
        #expect(p.phases[0] == Phase(name: "warmup", duration: .seconds(30), rate: .perSecond(100), size: .fixed(64),
                                     burst: nil, window: 4, payload: .printable))
        #expect(p.phases[1].rate == .max)
        #expect(p.phases[1].size == .sweep(from: 24, to: 496, step: 59))
        #expect(p.phases[1].window == 16)
        #expect(p.phases[1].payload == .binary)
        #expect(p.phases[2].name == "phase3")
        #expect(p.phases[2].rate == .perSecond(2.5))
        #expect(p.phases[2].size == .list([21, 496]))
        #expect(p.phases[2].burst == Burst(count: 5, every: .seconds(1)))
        #expect(p.phases[2].window == 4)
        #expect(p.totalDuration == .seconds(92))
        #expect(p.criteria.maxLost == 3)
        #expect(p.criteria.maxCorrupted == 0)
        #expect(p.criteria.minEchoed == 1)
        #expect(p.criteria.maxLatencyP99 == .milliseconds(20))
    }

    @Test("the one-phase template itself is valid")
    func templateValid() {
        #expect(profileError(onePhase()) == nil)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var place: String
        var key: String
        var says: String
        var testDescription: String { name }
    }

    static let profileCases: [Case] = [
        Case(name: "unknown key in a phase", text: onePhase(line7: "    windw: 4"),
             place: "file.yaml:7:5", key: "phases[0].windw", says: "unknown key"),
        Case(name: "rate 0", text: onePhase(rate: "0"),
             place: "file.yaml:5:11", key: "phases[0].rate", says: "above 0"),
        Case(name: "size 497", text: onePhase(size: "497"),
             place: "file.yaml:6:11", key: "phases[0].size", says: "497 is out of range"),
        Case(name: "size 20", text: onePhase(size: "20"),
             place: "file.yaml:6:11", key: "phases[0].size", says: "20 is out of range"),
        Case(name: "window 0", text: onePhase(line7: "    window: 0"),
             place: "file.yaml:7:13", key: "phases[0].window", says: "0 is out of range"),
        Case(name: "window 257", text: onePhase(line7: "    window: 257"),
             place: "file.yaml:7:13", key: "phases[0].window", says: "257 is out of range"),
        Case(name: "negative duration", text: onePhase(duration: "-5s"),
             place: "file.yaml:4:15", key: "phases[0].duration", says: "cannot be negative"),
        Case(name: "payload ascii", text: onePhase(line7: "    payload: ascii"),
             place: "file.yaml:7:14", key: "phases[0].payload", says: "'ascii'"),
        Case(name: "size in a list out of range", text: onePhase(size: "[64, 600]"),
             place: "file.yaml:6:16", key: "phases[0].size[1]", says: "600 is out of range"),
        Case(name: "loss_timeout not below hang_timeout", text: """
            name: t
            link:
              hang_timeout: 2s
              loss_timeout: 2s
            phases:
              - duration: 10s
                rate: 100
                size: 64
            """,
             place: "file.yaml:4:17", key: "link.loss_timeout", says: "must be shorter than hang_timeout"),
        Case(name: "unknown key in defaults", text: """
            name: t
            defaults:
              duration: 5s
            phases:
              - duration: 10s
                rate: 100
                size: 64
            """,
             place: "file.yaml:3:3", key: "defaults.duration", says: "unknown key"),
        Case(name: "duration too long to count in nanoseconds", text: onePhase(duration: "1000000000000h"),
             place: "file.yaml:4:15", key: "phases[0].duration", says: "expected a duration"),
        Case(name: "duration without a unit (500: ms or s?)", text: onePhase(duration: "500"),
             place: "file.yaml:4:15", key: "phases[0].duration", says: "needs a unit"),
        Case(name: "rate too slow to schedule", text: onePhase(rate: "0.0000000001"),
             place: "file.yaml:5:11", key: "phases[0].rate", says: "rate below"),
        Case(name: "rate above a million", text: onePhase(rate: "2000000"),
             place: "file.yaml:5:11", key: "phases[0].rate", says: "use 'max'"),
        Case(name: "missing phases", text: "name: t\nseed: 3\n",
             place: "file.yaml:1:1", key: "phases", says: "missing required key"),
        Case(name: "empty phases", text: "name: t\nphases: []\n",
             place: "file.yaml:2:9", key: "phases", says: "at least one phase"),
        Case(name: "missing rate", text: "name: t\nphases:\n  - duration: 1s\n    size: 64\n",
             place: "file.yaml:3:5", key: "phases[0]", says: "'rate'"),
    ]

    @Test("each mistake is a ConfigError naming file:line:column and the key", arguments: profileCases)
    func profileErrors(c: Case) {
        let error = profileError(c.text)
        #expect(error != nil, "no error for: \(c.text)")
        guard let error else { return }
        #expect(error.description.hasPrefix("\(c.place): \(c.key): "), "\(error.description)")
        #expect(error.key == c.key, "\(error.description)")
        #expect(error.message.contains(c.says), "\(error.description)")
    }

    @Test("an empty file is an error at its first line")
    func emptyFile() {
        for text in ["", "# nothing here yet\n"] {
            let error = profileError(text)
            #expect(error?.description.hasPrefix("file.yaml:1:1") == true, "\(String(describing: error))")
            #expect(error?.message.contains("empty") == true)
        }
    }

    @Test("a YAML syntax error names the line and column")
    func yamlSyntaxError() {
        let text = onePhase(rate: "100: 3")
        let error = profileError(text)
        #expect(error?.description.hasPrefix("file.yaml:5:") == true, "\(String(describing: error))")
        #expect(error?.message.contains("invalid YAML") == true)

        let unclosed = onePhase(size: "[64, 128")
        let e2 = profileError(unclosed)
        #expect(e2?.line ?? 0 >= 6, "\(String(describing: e2))")
        #expect(e2?.message.contains("invalid YAML") == true)
    }

    @Test("a duplicated key is an error")
    func duplicatedKey() {
        let error = profileError("name: t\nname: u\nphases:\n  - duration: 1s\n    rate: 1\n    size: 64\n")
        #expect(error?.key == "name", "\(String(describing: error))")
        #expect(error?.message.contains("more than once") == true)
    }

    @Test("a valid board parses; a sim device gets the default simulator")
    func validBoards() throws {
        let real = try ConfigLoader.parseBoard(text: """
            name: bench
            link:
              device: /dev/ttyRPMSG30
              setup: [modprobe imx_rpmsg_tty]
              setup_timeout: 10s
            """, file: "board.yaml")
        #expect(real.name == "bench")
        #expect(real.link.location == .local(.path("/dev/ttyRPMSG30")))
        #expect(real.link.setup == ["modprobe imx_rpmsg_tty"])
        #expect(real.link.setupTimeout == .seconds(10))
        #expect(real.simulator == nil)
        #expect(!real.isSimulated)

        let sim = try ConfigLoader.parseBoard(text: "name: s\nlink:\n  device: sim\n", file: "board.yaml")
        #expect(sim.isSimulated)
        #expect(sim.simulator == .default)

        let tuned = try ConfigLoader.parseBoard(text: "name: s\nlink:\n  device: sim\nsimulator:\n  uart_baud: 921600\n  boot_time: 2s\n",
                                                file: "board.yaml")
        #expect(tuned.simulator == SimulatorConfig(uartBaud: 921_600, bootTime: .seconds(2)))
    }

    @Test("a board with a relative device path is an error at the device")
    func relativeDevice() {
        let error = boardError("name: bench\nlink:\n  device: ttyRPMSG30\n")
        #expect(error?.description.hasPrefix("board.yaml:3:11: link.device: ") == true, "\(String(describing: error))")
        #expect(error?.message.contains("absolute device path") == true)
    }

    @Test("simulator settings on a real device are an error at the simulator key")
    func simulatorOnRealDevice() {
        let error = boardError("""
            name: bench
            link:
              device: /dev/ttyRPMSG30
            simulator:
              uart_baud: 0
            """)
        #expect(error?.key == "simulator", "\(String(describing: error))")
        #expect(error?.description.hasPrefix("board.yaml:4:1: simulator: ") == true, "\(String(describing: error))")
        #expect(error?.message.contains("'sim'") == true)
    }

    @Test("an error's description without a line is just the file")
    func descriptionWithoutLine() {
        let e = ConfigError(file: "x.yaml", line: 0, column: 0, key: "", message: "no such file")
        #expect(e.description == "x.yaml: no such file")
    }
}

@Suite("Board file: link, UART ready line, remoteproc")
struct BoardDevicesConfigTests {
    @Test("a link by udev match, a UART ready line and a remoteproc block")
    func devices() throws {
        let board = try ConfigLoader.parseBoard(text: """
            name: b
            link:
              match: {DEVPATH: "*rpmsg-virtual-tty-channel*"}
            uart: {device: /dev/ttyUSB2, ready: 'String Echo FreeRTOS', ready_timeout: 20s}
            remoteproc: {path: /sys/class/remoteproc/remoteproc0, firmware: m7.elf}
            """, file: "b.yaml")
        #expect(board.link.location == .local(.match(["DEVPATH": "*rpmsg-virtual-tty-channel*"])))
        #expect(board.uart?.ready == "String Echo FreeRTOS" && board.uart?.readyTimeout == .seconds(20))
        #expect(board.remoteproc == RemoteprocConfig(path: "/sys/class/remoteproc/remoteproc0", firmware: "m7.elf"))
        #expect(DeviceSpec(device: "/dev/ttyRPMSG*", match: nil) == .glob("/dev/ttyRPMSG*"))
    }

    @Test("link and remoteproc mistakes are named")
    func mistakes() {
        #expect(boardError("name: b\nlink: {setup: []}\n")?.message.contains("give the RPMsg tty's device path (or glob), or a udev match") == true)
        #expect(boardError("name: b\nlink: {device: /dev/x, match: {A: b}}\n")?.key == "link.match")
        #expect(boardError("name: b\nlink: {device: /dev/x}\nuart: {device: /dev/y, ready: '(unclosed'}\n")?.message
            .contains("does not compile") == true)
        #expect(boardError("name: b\nlink: {device: /dev/x}\nremoteproc: {path: remoteproc0}\n")?.message
            .contains("expected a sysfs directory") == true)
        #expect(boardError("name: b\nlink: {device: /dev/x}\nremoteproc: {path: sim}\n")?.message
            .contains("this board's link is not simulated") == true)
    }

    @Test("a tab in the indentation is named")
    func tab() {
        let e = boardError("name: b\nlink:\n\tdevice: /dev/x\n")
        #expect(e?.message.contains("the line holds a tab: YAML indents with spaces only") == true, "\(String(describing: e))")
    }
}

/// Values that cannot make sense or would harm an overnight run are errors naming file, line,
/// column and key (issue 13: report_interval: 1ns made 900 MB of timeline an hour).
@Suite("Limits on values that cannot make sense")
struct ConfigLimitsTests {
    @Test("report_interval below 100ms is an error at the value")
    func reportIntervalFloor() throws {
        let error = profileError("name: t\nreport_interval: 1ns\n" + onePhase().split(separator: "\n").dropFirst().joined(separator: "\n"))
        #expect(error?.description.hasPrefix("file.yaml:2:18: report_interval: 1ns is too short: at least 100ms") == true, "\(String(describing: error))")
        let ok = try ConfigLoader.parseProfile(text: "name: t\nreport_interval: 100ms\n" + onePhase().split(separator: "\n").dropFirst().joined(separator: "\n"), file: "f")
        #expect(ok.reportInterval == .milliseconds(100))
    }

    @Test("burst every, phase duration, hang and loss timeouts have a floor of 1ms")
    func linkFloors() {
        let burst = profileError(onePhase(line7: "    burst: {count: 4, every: 1ns}"))
        #expect(burst?.description.hasPrefix("file.yaml:7:30: phases[0].burst.every: 1ns is too short: at least 1ms") == true, "\(String(describing: burst))")
        let duration = profileError(onePhase(duration: "500us"))
        #expect(duration?.key == "phases[0].duration" && duration?.message.contains("at least 1ms") == true, "\(String(describing: duration))")
        let loss = profileError("name: t\nlink:\n  loss_timeout: 1ns\n" + onePhase().split(separator: "\n").dropFirst().joined(separator: "\n"))
        #expect(loss?.description.hasPrefix("file.yaml:3:17: link.loss_timeout: 1ns is too short") == true, "\(String(describing: loss))")
    }

    @Test("recovery timeouts, the heartbeat and latency limits have floors")
    func timeoutFloors() {
        for (block, key, floor) in [("recovery:\n  probe_timeout: 1ns", "recovery.probe_timeout", "10ms"),
                                    ("recovery:\n  off_time: 1ms", "recovery.off_time", "10ms"),
                                    ("recovery:\n  boot_timeout: 5ms", "recovery.boot_timeout", "10ms"),
                                    ("heartbeat: {pattern: x, within: 1ns}", "heartbeat.within", "10ms"),
                                    ("criteria:\n  latency_p99: 1ns", "criteria.latency_p99", "1us")] {
            let error = profileError(onePhase() + "\n" + block + "\n")
            #expect(error?.key == key, "\(block): \(String(describing: error))")
            #expect(error?.message.contains("is too short: at least \(floor)") == true, "\(block): \(String(describing: error))")
            #expect((error?.line ?? 0) >= 8, "\(block): names the line")
        }
    }

    @Test("timeline_sync: read, 1s when absent, 100ms to 10m")
    func timelineSync() throws {
        let absent = try ConfigLoader.parseProfile(text: onePhase(), file: "f")
        #expect(absent.timelineSync == nil)
        #expect(Profile.defaultTimelineSync == .seconds(1))
        let set = try ConfigLoader.parseProfile(text: "name: t\ntimeline_sync: 250ms\n" + onePhase().split(separator: "\n").dropFirst().joined(separator: "\n"), file: "f")
        #expect(set.timelineSync == .milliseconds(250))
        let tooOften = profileError("name: t\ntimeline_sync: 1ms\n" + onePhase().split(separator: "\n").dropFirst().joined(separator: "\n"))
        #expect(tooOften?.description.hasPrefix("file.yaml:2:16: timeline_sync: 1ms is too short: at least 100ms") == true, "\(String(describing: tooOften))")
        let tooRare = profileError("name: t\ntimeline_sync: 1h\n" + onePhase().split(separator: "\n").dropFirst().joined(separator: "\n"))
        #expect(tooRare?.message.contains("too long: at most 10m") == true, "\(String(describing: tooRare))")
    }

    @Test("counts beyond Int64 are a clear error, not accepted")
    func countsWithinTheirType() {
        let error = profileError(onePhase() + "\ncriteria:\n  min_echoed: 9223372036854775808\n")
        #expect(error?.description == "file.yaml:9:15: criteria.min_echoed: 9223372036854775808 is out of range: expected a whole number from 0 to 9223372036854775807",
                "\(String(describing: error))")
        let huge = profileError(onePhase() + "\ncriteria:\n  lost: 99999999999999999999999\n")
        #expect(huge?.message.contains("is out of range") == true, "\(String(describing: huge))")
        let window = profileError(onePhase(line7: "    window: 99999999999999999999"))
        #expect(window?.message.contains("is out of range") == true, "\(String(describing: window))")
    }

    @Test("a profile name with a control character (a NUL) is an error; other characters are kept")
    func nameWithControlCharacter() throws {
        let error = profileError("name: \"x\\0y\"\n" + onePhase().split(separator: "\n").dropFirst().joined(separator: "\n"))
        #expect(error?.description.hasPrefix("file.yaml:1:7: name: the name holds a control character") == true, "\(String(describing: error))")
        let odd = try ConfigLoader.parseProfile(text: "name: \"../../escaped\"\n" + onePhase().split(separator: "\n").dropFirst().joined(separator: "\n"), file: "f")
        #expect(odd.name == "../../escaped", "shown as written; the run folder uses a safe form")
    }

    @Test("a NUL byte in the YAML names FILE:LINE:COLUMN")
    func nulByte() {
        let error = profileError(onePhase() + "\n  \u{0}\n")
        #expect(error?.description.hasPrefix("file.yaml:8:3: invalid YAML: a NUL byte is not allowed") == true, "\(String(describing: error))")
    }

    @Test("the simulator's uart_baud is a standard baud rate (0 was accepted)")
    func simulatorBaud() throws {
        let error = boardError("name: s\nlink:\n  device: sim\nsimulator:\n  uart_baud: 0\n")
        #expect(error?.description.hasPrefix("board.yaml:5:14: simulator.uart_baud: 0 is not a standard baud rate; expected one of 1200, ") == true,
                "\(String(describing: error))")
        #expect(boardError("name: s\nlink:\n  device: sim\nsimulator:\n  uart_baud: 100000\n")?.message.contains("not a standard baud rate") == true)
        let ok = try ConfigLoader.parseBoard(text: "name: s\nlink:\n  device: sim\nsimulator:\n  uart_baud: 4000000\n", file: "b")
        #expect(ok.simulator?.uartBaud == 4_000_000)
    }

    @Test("a GPIO relay line of -1 is rejected; offsets from 0 and line names are taken")
    func gpioLine() throws {
        let board = "name: g\nlink:\n  device: /dev/ttyRPMSG30\npower:\n  kind: gpio\n  chip: gpiochip0\n  line: "
        let error = boardError(board + "-1\n")
        #expect(error?.description.hasPrefix("board.yaml:7:9: power.line: expected a line offset") == true, "\(String(describing: error))")
        #expect(boardError(board + "99999999999\n")?.key == "power.line")
        #expect(boardError(board + "0\n") == nil)
        #expect(boardError(board + "POWER_RELAY\n") == nil)
    }
}
