/// The board file's `power:` block: what switches the board's power, and the times and exit
/// state every switch shares. One file per block kind: a new kind of switch is a case here
/// (type, JSON, YAML, summary), its switch type in SoakLinux/Power/, and its line in BoardParts.

public struct PowerConfig: Sendable, Codable, Equatable {
    /// The `kind` word of a board file (and a timeline).
    public enum Kind: String, Sendable, Codable, CaseIterable { case sim, command, gpio, labgrid, lava, none }
    /// What switches the power.
    public enum Switch: Sendable, Equatable {
        /// Nothing: declared so, rather than left out.
        case none
        /// The simulated board's power input.
        case simulated
        /// Shell commands (a USB relay, a PDU, uhubctl, labgrid-client power ...).
        case command(CommandPowerConfig)
        /// A relay on a GPIO line.
        case gpio(GpioRelayConfig)
        /// The power resource of the board file's labgrid place (`labgrid-client power`): any
        /// power backend labgrid knows.
        case labgrid
        /// The commands of a LAVA device dictionary, from the environment at run time
        /// (`LavaEnvironment`): on and off, or a hard reset alone.
        case lava(LavaPowerConfig)
    }
    /// The power state the board is left in when the tester stops, on every exit path it controls.
    public enum ExitState: String, Sendable, Codable, CaseIterable {
        case on, off
        /// Whatever it was last switched to.
        case asIs = "as-is"

        /// Power on (true), off (false), or nothing to do (nil).
        public var powered: Bool? { self == .asIs ? nil : self == .on }
    }
    public var via: Switch
    /// How long the power stays off in a cycle (the board's capacitors); nil: the profile's
    /// recovery.off_time.
    public var offTime: SoakDuration?
    /// After power returns, how long to wait before looking for the board's devices.
    public var settleTime: SoakDuration?
    public var onExit: ExitState

    public var kind: Kind {
        switch via {
        case .none: return .none
        case .simulated: return .sim
        case .command: return .command
        case .gpio: return .gpio
        case .labgrid: return .labgrid
        case .lava: return .lava
        }
    }

    public init(_ via: Switch, offTime: SoakDuration? = nil, settleTime: SoakDuration? = nil, onExit: ExitState = .on) {
        self.via = via
        self.offTime = offTime
        self.settleTime = settleTime
        self.onExit = onExit
    }
}

/// Power switched by shell commands.
public struct CommandPowerConfig: Sendable, Equatable {
    public var on: String
    public var off: String
    /// Exits 0 when the board is powered; nil: the state cannot be asked.
    public var status: String?
    /// How long each command may take.
    public var timeout: SoakDuration

    public init(on: String, off: String, status: String? = nil, timeout: SoakDuration = .seconds(30)) {
        self.on = on
        self.off = off
        self.status = status
        self.timeout = timeout
    }
}

/// Power through the LAVA worker's commands (`LAVA_POWER_ON_COMMAND`, `LAVA_POWER_OFF_COMMAND`,
/// `LAVA_HARD_RESET_COMMAND`), read from the environment when the run starts.
public struct LavaPowerConfig: Sendable, Equatable {
    /// How long each command may take.
    public var timeout: SoakDuration

    public init(timeout: SoakDuration = .seconds(30)) {
        self.timeout = timeout
    }
}

/// A relay (or a board's power-enable pin) on one GPIO line.
public struct GpioRelayConfig: Sendable, Codable, Equatable {
    /// The chip: a kernel name (`gpiochip2`), a path (`/dev/gpiochip2`), a number, or its label
    /// (`30220000.gpio`, `relaychip`).
    public var chip: String
    /// The line: an offset on the chip, or the line's name (from the device tree's gpio-line-names).
    public var line: String
    /// The relay is energised (board powered) when the line is low.
    public var activeLow: Bool

    public init(chip: String, line: String, activeLow: Bool = false) {
        self.chip = chip
        self.line = line
        self.activeLow = activeLow
    }
}

// The JSON a timeline keeps stays flat, as the first versions wrote it (a `kind` word beside
// the keys of that kind), so old and new timelines read alike.

extension PowerConfig {
    private enum CodingKeys: String, CodingKey {
        case kind, onCommand, offCommand, statusCommand, timeout, gpio, offTime, settleTime, onExit
    }

    /// Earlier versions wrote a timeout for every kind; only commands use it.
    private static let defaultTimeout = SoakDuration.seconds(30)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let via: Switch
        switch try c.decode(Kind.self, forKey: .kind) {
        case .none: via = .none
        case .sim: via = .simulated
        case .labgrid: via = .labgrid
        case .gpio: via = .gpio(try c.decode(GpioRelayConfig.self, forKey: .gpio))
        case .lava:
            via = .lava(LavaPowerConfig(timeout: try c.decodeIfPresent(SoakDuration.self, forKey: .timeout) ?? Self.defaultTimeout))
        case .command:
            via = .command(CommandPowerConfig(on: try c.decode(String.self, forKey: .onCommand),
                                              off: try c.decode(String.self, forKey: .offCommand),
                                              status: try c.decodeIfPresent(String.self, forKey: .statusCommand),
                                              timeout: try c.decodeIfPresent(SoakDuration.self, forKey: .timeout) ?? Self.defaultTimeout))
        }
        self.init(via, offTime: try c.decodeIfPresent(SoakDuration.self, forKey: .offTime),
                  settleTime: try c.decodeIfPresent(SoakDuration.self, forKey: .settleTime),
                  onExit: try c.decodeIfPresent(ExitState.self, forKey: .onExit) ?? .on)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        var timeout = Self.defaultTimeout
        switch via {
        case .none, .simulated, .labgrid: break
        case .command(let commands):
            try c.encode(commands.on, forKey: .onCommand)
            try c.encode(commands.off, forKey: .offCommand)
            try c.encodeIfPresent(commands.status, forKey: .statusCommand)
            timeout = commands.timeout
        case .gpio(let relay):
            try c.encode(relay, forKey: .gpio)
        case .lava(let lava):
            timeout = lava.timeout
        }
        try c.encode(timeout, forKey: .timeout)
        try c.encodeIfPresent(offTime, forKey: .offTime)
        try c.encodeIfPresent(settleTime, forKey: .settleTime)
        try c.encode(onExit, forKey: .onExit)
    }
}

extension PowerConfig {
    /// The switch can be worked by a process of its own (`rpmsg-soak power`); the simulated
    /// board's power input lives inside a run.
    public var standsAlone: Bool {
        switch via {
        case .none, .simulated, .labgrid: return false
        case .command, .gpio, .lava: return true
        }
    }

    /// One line for `check`: what switches the power, its times, the exit state.
    public var summary: String {
        var what: String
        switch via {
        case .gpio(let gpio): what = "gpio relay, chip \(gpio.chip) line \(gpio.line)\(gpio.activeLow ? " (active-low)" : "")"
        case .command(let commands): what = "commands (on: \(commands.on); off: \(commands.off))"
        case .lava: what = "LAVA's commands from the environment (\(LavaEnvironment.powerOn) and \(LavaEnvironment.powerOff), else \(LavaEnvironment.hardReset) alone)"
        case .simulated: what = "the simulator's power input"
        case .labgrid: what = "the labgrid place's power (labgrid-client power)"
        case .none: what = "none (a hang ends the run)"
        }
        if let t = offTime { what += ", off for \(t)" }
        if let t = settleTime { what += ", settle \(t)" }
        return "\(what), left \(onExit.rawValue) on exit"
    }
}

extension ConfigLoader {
    static func parsePower(_ node: YAMLReader, simulated: Bool, labgrid: Bool = false) throws(ConfigError) -> PowerConfig {
        let pm = try node.mapping(allowed: ["kind", "on", "off", "status", "timeout", "chip", "line", "active_low",
                                            "off_time", "settle_time", "on_exit"])
        let k = try pm.required("kind")
        guard let kind = PowerConfig.Kind(rawValue: try k.string()) else {
            throw k.error("expected one of: \(PowerConfig.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if kind == .sim && !simulated { throw k.error("'sim' power is the simulated board's; this board's link is not simulated") }
        if kind == .labgrid && !labgrid { throw k.error("'labgrid' power is a labgrid place's; name the place in a labgrid: block (place, coordinator)") }
        // Keys of another kind are mistakes (a gpio board with an on: command would never run it).
        let commandKeys = ["on", "off", "status"], gpioKeys = ["chip", "line", "active_low"]
        let foreign = kind == .command ? gpioKeys : kind == .gpio ? commandKeys : commandKeys + gpioKeys
        for key in foreign where pm.has(key) {
            // LAVA's commands come from the environment: an on: here would never run.
            let why = kind == .lava ? ": LAVA's commands come from the environment (\(LavaEnvironment.powerOn), \(LavaEnvironment.powerOff), \(LavaEnvironment.hardReset)); use kind: command for commands of your own" : ""
            throw pm.keyError(key, "'\(key)' does not apply to power kind '\(kind.rawValue)'\(why)")
        }
        let on = try pm.optional("on")?.string(), off = try pm.optional("off")?.string()
        let status = try pm.optional("status")?.string()
        // Every kind takes a timeout (earlier versions did), though only commands use it.
        let timeout = try pm.optional("timeout")?.duration(atLeast: ConfigLoader.Limits.timeout) ?? .seconds(30)
        var cfg: PowerConfig
        switch kind {
        case .none: cfg = PowerConfig(.none)
        case .sim: cfg = PowerConfig(.simulated)
        case .labgrid: cfg = PowerConfig(.labgrid)
        case .lava: cfg = PowerConfig(.lava(LavaPowerConfig(timeout: timeout)))
        case .command:
            guard let on, let off else { throw node.error("kind: command needs both on: and off: commands") }
            cfg = PowerConfig(.command(CommandPowerConfig(on: on, off: off, status: status, timeout: timeout)))
        case .gpio:
            let chip = try pm.required("chip").string()
            let lineNode = try pm.required("line")
            let line = try lineNode.string()
            if line.isEmpty { throw lineNode.error("expected a line offset (0, 1, ...) or a line name such as POWER_RELAY") }
            if line.hasPrefix("-") || line.hasPrefix("+") || (line.allSatisfy(\.isNumber) && UInt32(line) == nil) {
                throw lineNode.error("expected a line offset (0, 1, ...) or a line name such as POWER_RELAY, found '\(line)': an offset is 0 or more")
            }
            cfg = PowerConfig(.gpio(GpioRelayConfig(chip: chip, line: line, activeLow: try pm.optional("active_low")?.bool() ?? false)))
        }
        if let v = pm.optional("off_time") { cfg.offTime = try v.duration(atLeast: ConfigLoader.Limits.timeout, why: "a board held off shorter does not lose power") }
        if let v = pm.optional("settle_time") { cfg.settleTime = try v.duration(allowZero: true) }
        if let v = pm.optional("on_exit") {
            guard let state = PowerConfig.ExitState(rawValue: try v.string()) else {
                throw v.error("expected one of: \(PowerConfig.ExitState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            cfg.onExit = state
        }
        return cfg
    }
}
