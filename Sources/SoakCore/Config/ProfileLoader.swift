import Foundation

/// Turns profile and board YAML into validated models. Every impossible value is an error here,
/// before any device is opened.
public enum ConfigLoader {
    static let phaseKeys = ["name", "duration", "rate", "size", "burst", "window", "payload"]

    public static func loadProfile(path: String) throws(ConfigError) -> Profile {
        try parseProfile(text: try readText(path), file: path)
    }

    public static func loadBoard(path: String) throws(ConfigError) -> BoardConfig {
        try parseBoard(text: try readText(path), file: path)
    }

    static func readText(_ path: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            let reason = !exists ? "no such file" : isDir.boolValue ? "is a directory, not a YAML file" : "cannot be read as UTF-8 text"
            throw ConfigError(file: path, line: 0, column: 0, key: "", message: reason)
        }
    }

    public static func parseProfile(text: String, file: String) throws(ConfigError) -> Profile {
        let doc = try YAMLReader.load(text: text, file: file)
        if doc.isMapping, let m = try? doc.mapping(allowed: ["name", "description", "link", "simulator"]),
           let device = m.optional("link").flatMap({ try? $0.mapping(allowed: ["device", "setup", "setup_timeout"]) })?.optional("device") {
            throw device.error("this is a board file (it names a link device), not a profile: give it with --board")
        }
        let root = try doc.mapping(allowed: ["name", "description", "seed", "report_interval", "timeline_sync", "link", "defaults", "phases", "criteria",
                                             "rules", "silence", "heartbeat", "recovery", "gate"])
        let nameNode = try root.required("name")
        let name = try nameNode.string()
        // The name is in every report (XML cannot carry control characters) and, made safe, in
        // the run folder's name.
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw nameNode.error("the name holds a control character (a NUL, a newline, an escape...): use letters, digits, '-', '_' and '.'")
        }
        if name.trimmingCharacters(in: .whitespaces).isEmpty { throw nameNode.error("the name is empty") }
        let seed = try root.optional("seed")?.uint64(max: UInt64.max) ?? 1
        let interval = try root.optional("report_interval")?.duration(atLeast: Limits.reportInterval,
                                                                       why: "a snapshot per interval goes onto the timeline") ?? .seconds(10)
        let timelineSync = try root.optional("timeline_sync")?.duration(atLeast: Limits.timelineSync, atMost: .seconds(600),
                                                                         why: "an fsync of the timeline each time")

        let link = try parseLinkTimeouts(root.optional("link"))
        let defaults = try root.optional("defaults")?.mapping(allowed: phaseKeys.filter { $0 != "name" && $0 != "duration" })
        let phaseNodes = try root.required("phases").sequence()
        if phaseNodes.isEmpty { throw try root.required("phases").error("at least one phase is needed") }
        var phases: [Phase] = []
        for (i, node) in phaseNodes.enumerated() {
            let phase = try parsePhase(node, index: i, defaults: defaults)
            // Reports, JUnit cases and a gate's comparison know phases by name.
            if let first = phases.firstIndex(where: { $0.name == phase.name }) {
                let at = (try? node.mapping(allowed: phaseKeys).optional("name")) ?? nil
                throw (at ?? node).error("'\(phase.name)' is the name of phases[\(first)] already: each phase needs a name of its own (reports, JUnit cases and gates know phases by name)")
            }
            phases.append(phase)
        }
        let criteria = try parseCriteria(root.optional("criteria"))
        var profile = Profile(name: name, description: try root.optional("description")?.string(), seed: seed,
                              phases: phases, link: link, criteria: criteria, reportInterval: interval)
        profile.timelineSync = timelineSync
        if let r = root.optional("rules") {
            for item in try r.sequence() { profile.rules.append(try parseRule(item)) }
        }
        if let s = root.optional("silence") {
            let known = Set(BuiltInRules.all.map(\.name))
            for item in try s.sequence() {
                let name = try item.string()
                guard known.contains(name) else {
                    throw item.error("no built-in rule is called '\(name)'; built-in rules: \(BuiltInRules.all.map(\.name).joined(separator: ", "))")
                }
                profile.silence.append(name)
            }
        }
        if let h = root.optional("heartbeat") {
            let hm = try h.mapping(allowed: ["pattern", "within"])
            let p = try hm.required("pattern")
            let pattern = try p.string()
            if (try? NSRegularExpression(pattern: pattern)) == nil { throw p.error("the pattern does not compile as a regular expression") }
            profile.heartbeat = HeartbeatRule(pattern: pattern, within: try hm.required("within").duration(atLeast: Limits.timeout))
        }
        if let r = root.optional("recovery") {
            let rm = try r.mapping(allowed: ["ladder", "max_recoveries", "max_consecutive_failures", "probe_timeout", "off_time", "boot_timeout"])
            var policy = RecoveryPolicy.default
            if let l = rm.optional("ladder") {
                policy.ladder = []
                for item in try l.sequence() {
                    guard let step = RecoveryPolicy.Step(rawValue: try item.string()) else {
                        throw item.error("expected one of: \(RecoveryPolicy.Step.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    policy.ladder.append(step)
                }
                if policy.ladder.isEmpty { throw l.error("the ladder needs at least one step") }
            }
            if let v = rm.optional("max_recoveries") { policy.maxRecoveries = try v.int(0...1_000_000) }
            if let v = rm.optional("max_consecutive_failures") { policy.maxConsecutiveFailures = try v.int(1...1000) }
            if let v = rm.optional("probe_timeout") { policy.probeTimeout = try v.duration(atLeast: Limits.timeout, why: "a probe echo's round trip") }
            if let v = rm.optional("off_time") { policy.offTime = try v.duration(atLeast: Limits.timeout, why: "a board held off shorter does not lose power") }
            if let v = rm.optional("boot_timeout") { policy.bootTimeout = try v.duration(atLeast: Limits.timeout) }
            profile.recovery = policy
        }
        if let g = root.optional("gate") { profile.gate = try parseGate(g) }
        return profile
    }

    static func parseRule(_ node: YAMLReader) throws(ConfigError) -> Rule {
        let m = try node.mapping(allowed: ["name", "source", "pattern", "class", "severity", "explain", "action"])
        let name = try m.required("name").string()
        var source: SourceLine.Source?
        if let s = m.optional("source") {
            let text = try s.string()
            if text != "any" {
                guard let v = SourceLine.Source(rawValue: text) else { throw s.error("expected uart, kernel or any, found '\(text)'") }
                source = v
            }
        }
        let p = try m.required("pattern")
        let pattern = try p.string()
        if (try? NSRegularExpression(pattern: pattern)) == nil { throw p.error("the pattern does not compile as a regular expression") }
        var severity = Rule.Severity.error
        if let s = m.optional("severity") {
            guard let v = Rule.Severity(rawValue: try s.string()) else { throw s.error("expected info, warning, error or fatal") }
            severity = v
        }
        var action = Rule.Action.record
        if let a = m.optional("action") {
            guard let v = Rule.Action(rawValue: try a.string()) else { throw a.error("expected record, fail or recover") }
            action = v
        }
        return Rule(name: name, source: source, pattern: pattern, findingClass: try m.optional("class")?.string() ?? name,
                    severity: severity, explanation: try m.optional("explain")?.string() ?? "matched rule \(name)", action: action)
    }

    static func parseLinkTimeouts(_ node: YAMLReader?) throws(ConfigError) -> LinkTimeouts {
        var t = LinkTimeouts(hangTimeout: .seconds(5), lossTimeout: .seconds(2), drainTimeout: .seconds(5), openTimeout: .seconds(10))
        guard let node else { return t }
        let m = try node.mapping(allowed: ["hang_timeout", "loss_timeout", "drain_timeout", "open_timeout"])
        if let v = m.optional("hang_timeout") { t.hangTimeout = try v.duration(atLeast: Limits.linkTimeout) }
        if let v = m.optional("loss_timeout") { t.lossTimeout = try v.duration(atLeast: Limits.linkTimeout) }
        if let v = m.optional("drain_timeout") { t.drainTimeout = try v.duration(allowZero: true) }
        if let v = m.optional("open_timeout") { t.openTimeout = try v.duration(allowZero: true) }
        if t.lossTimeout >= t.hangTimeout {
            throw (m.optional("loss_timeout") ?? node).error(
                "loss_timeout (\(t.lossTimeout)) must be shorter than hang_timeout (\(t.hangTimeout)), or one lost message looks like a hang")
        }
        return t
    }

    static func parsePhase(_ node: YAMLReader, index: Int, defaults: YAMLMapping?) throws(ConfigError) -> Phase {
        let m = try node.mapping(allowed: phaseKeys)
        func value(_ key: String) -> YAMLReader? { m.optional(key) ?? defaults?.optional(key) }
        let name = try m.optional("name")?.string() ?? "phase\(index + 1)"
        let duration = try m.required("duration").duration(atLeast: Limits.linkTimeout, atMost: .seconds(365 * 86400))

        let rate: Rate
        if let r = value("rate") {
            if (try? r.string()) == "max" {
                rate = .max
            } else {
                let v = try r.double()
                guard v > 0 else { throw r.error("rate must be above 0 messages/s or 'max', found \(v)") }
                guard v <= 1_000_000 else { throw r.error("rate above 1000000 messages/s: use 'max'") }
                // Slower than this, the interval between messages overflows the schedule's nanoseconds.
                guard v >= 0.000001 else { throw r.error("rate below 0.000001 messages/s (one message in 11 days), found \(v)") }
                rate = .perSecond(v)
            }
        } else {
            throw node.error("missing required key 'rate' (messages/s or 'max'), here or in defaults")
        }

        guard let sizeNode = value("size") else { throw node.error("missing required key 'size', here or in defaults") }
        let size = try parseSize(sizeNode)

        let window = try value("window")?.int(1...FrameCodec.maxInFlight, what: "messages in flight") ?? 1

        var burst: Burst?
        if let b = value("burst") {
            let bm = try b.mapping(allowed: ["count", "every"])
            burst = Burst(count: try bm.required("count").int(1...100_000, what: "messages per burst"),
                          every: try bm.required("every").duration(atLeast: Limits.linkTimeout))
        }

        var payload = PayloadEncoding.printable
        if let p = value("payload") {
            guard let e = PayloadEncoding(rawValue: try p.string()) else {
                throw p.error("expected 'printable' or 'binary', found '\((try? p.string()) ?? "")'")
            }
            payload = e
        }
        return Phase(name: name, duration: duration, rate: rate, size: size, burst: burst, window: window, payload: payload)
    }

    static func frameSize(_ node: YAMLReader) throws(ConfigError) -> Int {
        try node.int(FrameCodec.minFrameSize...FrameCodec.maxFrameSize,
                     what: "a message size in bytes (the frame header and CRC take \(FrameCodec.minFrameSize), the M7 buffer holds \(FrameCodec.maxFrameSize))")
    }

    static func parseSize(_ node: YAMLReader) throws(ConfigError) -> SizeSpec {
        if node.isSequence {
            let items = try node.sequence()
            if items.isEmpty { throw node.error("the list of sizes is empty") }
            var sizes: [Int] = []
            for item in items { sizes.append(try frameSize(item)) }
            return .list(sizes)
        }
        if node.isMapping {
            let m = try node.mapping(allowed: ["uniform", "sweep"])
            if let u = m.optional("uniform") {
                let um = try u.mapping(allowed: ["min", "max"])
                let lo = try frameSize(um.required("min")), hi = try frameSize(um.required("max"))
                if lo > hi { throw u.error("min (\(lo)) is above max (\(hi))") }
                return .uniform(min: lo, max: hi)
            }
            if let s = m.optional("sweep") {
                let sm = try s.mapping(allowed: ["from", "to", "step"])
                let from = try frameSize(sm.required("from")), to = try frameSize(sm.required("to"))
                let step = try sm.optional("step")?.int(1...FrameCodec.maxFrameSize, what: "a step in bytes") ?? 1
                return .sweep(from: from, to: to, step: step)
            }
            throw node.error("expected 'uniform: {min, max}' or 'sweep: {from, to, step}'")
        }
        return .fixed(try frameSize(node))
    }

    static func parseCriteria(_ node: YAMLReader?) throws(ConfigError) -> PassCriteria {
        var c = PassCriteria.strict
        guard let node else { return c }
        let m = try node.mapping(allowed: ["lost", "corrupted", "duplicated", "out_of_order", "hangs",
                                           "latency_p99", "latency_max", "min_echoed", "stray_bytes", "min_rate_ratio"])
        if let v = m.optional("lost") { c.maxLost = try v.uint64() }
        if let v = m.optional("corrupted") { c.maxCorrupted = try v.uint64() }
        if let v = m.optional("duplicated") { c.maxDuplicated = try v.uint64() }
        if let v = m.optional("out_of_order") { c.maxOutOfOrder = try v.uint64() }
        if let v = m.optional("hangs") { c.maxHangs = try v.uint64() }
        if let v = m.optional("latency_p99") { c.maxLatencyP99 = try v.duration(atLeast: Limits.latency, why: "latencies are measured in microseconds") }
        if let v = m.optional("latency_max") { c.maxLatency = try v.duration(atLeast: Limits.latency, why: "latencies are measured in microseconds") }
        if let v = m.optional("min_echoed") { c.minEchoed = try v.uint64() }
        if let v = m.optional("stray_bytes") { c.maxStrayBytes = try v.uint64() }
        if let v = m.optional("min_rate_ratio") {
            let r = try v.double()
            guard r >= 0 && r <= 1 else { throw v.error("expected a share between 0 and 1 (0.95: at least 95% of the asked rate; 0: not checked)") }
            c.minRateRatio = r
        }
        return c
    }

    public static func parseBoard(text: String, file: String) throws(ConfigError) -> BoardConfig {
        let root = try YAMLReader.load(text: text, file: file).mapping(allowed: ["name", "description", "link", "simulator", "uart", "kernel_log", "power", "remoteproc", "labgrid"])
        let name = try root.required("name").string()
        let labgrid = try root.optional("labgrid").map { node throws(ConfigError) in try parseLabgrid(node) }
        let link = try parseLink(try root.required("link"), labgrid: labgrid != nil)
        let simulated = link.location == .simulated

        var sim: SimulatorConfig?
        if let s = root.optional("simulator") {
            guard simulated else {
                throw root.keyError("simulator", "only a board whose link.device is 'sim' takes simulator settings")
            }
            let sm = try s.mapping(allowed: ["uart_baud", "boot_time", "heartbeat", "faults", "tty_needs_modprobe", "m7_started_by"])
            var cfg = SimulatorConfig.default
            if let b = sm.optional("uart_baud") { cfg.uartBaud = try standardBaud(b) }
            if let b = sm.optional("boot_time") { cfg.bootTime = try b.duration(allowZero: true) }
            if let b = sm.optional("heartbeat") { cfg.heartbeat = try b.duration(atLeast: Limits.timeout) }
            if let b = sm.optional("tty_needs_modprobe") { cfg.ttyNeedsModprobe = try b.bool() }
            if let b = sm.optional("m7_started_by") {
                let by = try b.string()
                guard by == "linux" || by == "u-boot" else { throw b.error("expected linux (remoteproc loads the firmware) or u-boot (bootaux; remoteproc state attached), found '\(by)'") }
                cfg.m7StartedByBootLoader = by == "u-boot"
            }
            if let f = sm.optional("faults") {
                for item in try f.sequence() {
                    let fm = try item.mapping(allowed: ["kind", "mtbf", "down", "spike"])
                    let kindNode = try fm.required("kind")
                    guard let kind = FaultSpec.Kind(rawValue: try kindNode.string()) else {
                        throw kindNode.error("unknown fault; expected one of: \(FaultSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    var spec = FaultSpec(kind: kind, mtbf: try fm.required("mtbf").duration(atLeast: Limits.timeout))
                    if let d = fm.optional("down") { spec.down = try d.duration(atLeast: Limits.linkTimeout) }
                    if let d = fm.optional("spike") { spec.spike = try d.duration(atLeast: Limits.linkTimeout) }
                    cfg.faults.append(spec)
                }
            }
            sim = cfg
        } else if simulated {
            sim = .default
        }
        var board = BoardConfig(name: name, description: try root.optional("description")?.string(), link: link, simulator: sim)
        board.labgrid = labgrid
        if let u = root.optional("uart") {
            board.uart = try parseUart(u, simulated: simulated, labgrid: labgrid != nil)
        } else if simulated {
            board.uart = UartConfig(location: .simulated, baud: 115_200)
        }
        let overSsh: Bool
        overSsh = link.location.isOnBoard
        if let k = root.optional("kernel_log") {
            let km = try k.mapping(allowed: ["source", "path"])
            let s = try km.required("source")
            guard let src = KernelLogConfig.Source(rawValue: try s.string()) else { throw s.error("expected kmsg, file, sim, ssh or none") }
            let pathNode = km.optional("path")
            let path = try pathNode?.string()
            switch src {
            case .kmsg:
                if overSsh {
                    throw s.error("'kmsg' is this machine's /dev/kmsg, the lab host's, not the board's; the link is over ssh: use source: ssh (the board's /dev/kmsg over the link's connection)")
                }
                board.kernelLog = .kmsg
            case .file:
                guard let path else { throw k.error("source: file needs a path") }
                board.kernelLog = .file(path: path)
            case .sim:
                if !simulated { throw s.error("'sim' is the simulated board's kernel log; this board's link is not simulated") }
                board.kernelLog = .simulated
            case .ssh:
                if !overSsh { throw s.error("'ssh' reads the board's kernel log over the link's ssh connection; this board's link is not over ssh (link: {ssh: user@host, device: ...})") }
                if let path, let pathNode, !path.hasPrefix("/") {
                    throw pathNode.error("expected the absolute path of the kernel log on the board (default /dev/kmsg)")
                }
                board.kernelLog = .ssh(path: path ?? KernelLogConfig.sshDefaultPath)
            case .none: board.kernelLog = .unwatched
            }
        } else {
            // The local kernel log is the board's only when the tester runs on the board (an RPMsg tty
            // is local); on a lab host driving a USB echo device it would be the host's own.
            // Over ssh it is the board's /dev/kmsg, read through the link's connection.
            switch link.location {
            case .simulated: board.kernelLog = .simulated
            case .ssh, .labgrid: board.kernelLog = .ssh(path: KernelLogConfig.sshDefaultPath)
            case .tcp, .command: board.kernelLog = .unwatched
            case .local: board.kernelLog = link.location.device?.contains("ttyRPMSG") == true ? .kmsg : .unwatched
            }
        }
        if let pw = root.optional("power") {
            board.power = try parsePower(pw, simulated: simulated, labgrid: labgrid != nil)
        } else if simulated {
            board.power = PowerConfig(.simulated)
        }
        if let r = root.optional("remoteproc") {
            let rm = try r.mapping(allowed: ["path", "firmware", "timeout"])
            let pathNode = try rm.required("path")
            let path = try pathNode.string()
            if path == DeviceLocation.simulatedKeyword && !simulated {
                throw pathNode.error("'sim' is the simulated board's remoteproc; this board's link is not simulated")
            }
            if path != DeviceLocation.simulatedKeyword && !path.hasPrefix("/") {
                throw pathNode.error("expected a sysfs directory such as /sys/class/remoteproc/remoteproc0, found '\(path)'")
            }
            var cfg = RemoteprocConfig(path: path, firmware: try rm.optional("firmware")?.string())
            if let t = rm.optional("timeout") { cfg.timeout = try t.duration(atLeast: Limits.timeout) }
            board.remoteproc = cfg
        } else if simulated {
            board.remoteproc = RemoteprocConfig(path: DeviceLocation.simulatedKeyword)
        }
        return board
    }

    /// The floors of durations: below them a value cannot make sense or harms the run.
    public enum Limits {
        /// `report_interval`: each interval puts a snapshot on the timeline (1ns made 900 MB an hour).
        public static let reportInterval = SoakDuration.milliseconds(100)
        /// `timeline_sync`: an fsync each time.
        public static let timelineSync = SoakDuration.milliseconds(100)
        /// Timeouts of probes, boots, power and heartbeats: a round trip through the kernel takes longer.
        public static let timeout = SoakDuration.milliseconds(10)
        /// `hang_timeout`, `loss_timeout`, burst `every`, a phase's `duration`, fault `down` and `spike`.
        public static let linkTimeout = SoakDuration.milliseconds(1)
        /// `latency_p99`, `latency_max`: latencies are measured in microseconds.
        public static let latency = SoakDuration(nanoseconds: 1_000)
    }

    /// The baud rates a tty can be set to (termios B1200 ... B4000000), as `SerialLineSource.standardBauds`.
    public static let standardBauds: [Int] = [
        1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 500_000, 576_000,
        921_600, 1_000_000, 1_152_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000, 3_500_000, 4_000_000,
    ]

    static func standardBaud(_ node: YAMLReader) throws(ConfigError) -> Int {
        let v = try node.int(Int.min...Int.max, what: "a baud rate")
        guard standardBauds.contains(v) else {
            throw node.error("\(v) is not a standard baud rate; expected one of \(standardBauds.map(String.init).joined(separator: ", "))")
        }
        return v
    }

    static func udevProperties(_ node: YAMLReader) throws(ConfigError) -> [String: String] {
        guard case .mapping(let pairs) = node.node, !pairs.isEmpty else {
            throw node.error("expected udev properties, for example {ID_SERIAL_SHORT: FT4232H-1234, ID_USB_INTERFACE_NUM: \"02\"}")
        }
        var props: [String: String] = [:]
        for (k, v) in pairs { props[k.string ?? ""] = v.string ?? "" }
        return props
    }
}
