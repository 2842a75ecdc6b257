/// A board file: WHERE the hardware is. Knows nothing of traffic or verdicts.
public struct BoardConfig: Sendable, Codable, Equatable {
    public var name: String
    public var description: String?
    public var link: LinkConfig
    /// Present when the link is simulated: how the built-in simulated board behaves.
    public var simulator: SimulatorConfig?
    /// The M7 debug UART, if watched.
    public var uart: UartConfig?
    /// The kernel log, if watched.
    public var kernelLog: KernelLogConfig?
    /// How to switch the board's power; nil: it cannot be (a hang ends the run).
    public var power: PowerConfig?
    /// The M7's remoteproc instance, for the remoteproc-restart recovery step.
    public var remoteproc: RemoteprocConfig?

    public var isSimulated: Bool { link.location == .simulated }

    /// The board used when none is named: the simulated i.MX8M Plus.
    public static let builtInSimulator = BoardConfig(
        name: "sim", description: "built-in simulated i.MX8M Plus running the NXP string echo firmware",
        link: LinkConfig(location: .simulated, setup: [], setupTimeout: .seconds(30)),
        simulator: .default,
        uart: UartConfig(location: .simulated, baud: 115_200),
        kernelLog: .simulated,
        power: PowerConfig(.simulated),
        remoteproc: RemoteprocConfig(path: DeviceLocation.simulatedKeyword))

    public init(name: String, description: String? = nil, link: LinkConfig, simulator: SimulatorConfig? = nil,
                uart: UartConfig? = nil, kernelLog: KernelLogConfig? = nil, power: PowerConfig? = nil,
                remoteproc: RemoteprocConfig? = nil) {
        self.name = name
        self.description = description
        self.link = link
        self.simulator = simulator
        self.uart = uart
        self.kernelLog = kernelLog
        self.power = power
        self.remoteproc = remoteproc
    }
}

/// Where one of the board's devices is reached.
public enum DeviceLocation: Sendable, Equatable, CustomStringConvertible {
    /// The built-in simulated board's (`sim` in a board file).
    case simulated
    /// A device on this machine, found by path, glob or udev properties.
    case local(DeviceSpec)

    /// The word a board file (and a timeline) uses for the simulated board's devices.
    public static let simulatedKeyword = "sim"

    /// From a board file's (or a timeline's) `device` and `match` keys. `sim` names the simulated
    /// board even beside a match, as the UART wiring always read it.
    public init(device: String?, match: [String: String]?) {
        self = device == Self.simulatedKeyword ? .simulated : .local(DeviceSpec(device: device, match: match))
    }

    /// The `device` key as board files and timelines spell it: nil when udev properties find it.
    public var device: String? {
        switch self {
        case .simulated: return Self.simulatedKeyword
        case .local(.path(let p)), .local(.glob(let p)): return p
        case .local(.match): return nil
        }
    }

    /// The `match` key: the udev properties, when they find it.
    public var match: [String: String]? {
        if case .local(.match(let m)) = self { return m }
        return nil
    }

    public var description: String {
        switch self {
        case .simulated: return Self.simulatedKeyword
        case .local(let spec): return spec.description
        }
    }
}

public struct UartConfig: Sendable, Codable, Equatable {
    public var location: DeviceLocation
    public var baud: Int
    /// A regular expression for the line the firmware prints when it is ready (its banner):
    /// after a power cycle or M7 restart, the probe waits for it.
    public var ready: String? = nil
    /// How long to wait for the ready line.
    public var readyTimeout: SoakDuration = .seconds(30)

    public init(location: DeviceLocation, baud: Int, ready: String? = nil, readyTimeout: SoakDuration = .seconds(30)) {
        self.location = location
        self.baud = baud
        self.ready = ready
        self.readyTimeout = readyTimeout
    }
}

/// Where a device is: a path, a glob, or udev properties.
public enum DeviceSpec: Sendable, Equatable, CustomStringConvertible {
    case path(String)
    case glob(String)
    case match([String: String])

    public init(device: String?, match: [String: String]?) {
        if let match { self = .match(match) }
        else if let d = device, d.contains(where: { "*?[".contains($0) }) { self = .glob(d) }
        else { self = .path(device ?? "") }
    }

    public var description: String {
        switch self {
        case .path(let p): return p
        case .glob(let g): return g
        case .match(let m): return "udev match " + m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }
}

/// The kernel log to watch.
public enum KernelLogConfig: Sendable, Codable, Equatable {
    /// The `source` word of a board file (and a timeline).
    public enum Source: String, Sendable, Codable { case kmsg, file, sim, none }
    /// This machine's /dev/kmsg.
    case kmsg
    /// A file to follow (one kmsg record or one plain line per line).
    case file(path: String)
    /// The simulated board's.
    case simulated
    /// None (`source: none`).
    case unwatched

    public var source: Source {
        switch self {
        case .kmsg: return .kmsg
        case .file: return .file
        case .simulated: return .sim
        case .unwatched: return .none
        }
    }
}

public struct LinkConfig: Sendable, Codable, Equatable {
    /// A tty path such as `/dev/ttyRPMSG30`, a glob such as `/dev/ttyRPMSG*` (exactly one must
    /// match) or udev properties, or the built-in simulated board.
    public var location: DeviceLocation
    /// Shell commands run once before the link is opened (for example `modprobe imx_rpmsg_tty`).
    public var setup: [String]
    /// How long a setup command may take.
    public var setupTimeout: SoakDuration

    public init(location: DeviceLocation, setup: [String] = [], setupTimeout: SoakDuration = .seconds(30)) {
        self.location = location
        self.setup = setup
        self.setupTimeout = setupTimeout
    }
}

public struct SimulatorConfig: Sendable, Codable, Equatable {
    /// Debug UART speed. The firmware prints every message before echoing it, so this bounds
    /// the echo rate as on the real board. 0: printing costs nothing.
    public var uartBaud: Int
    /// Time from power-on until the RPMsg tty exists.
    public var bootTime: SoakDuration
    /// A firmware task printing `[M7] heartbeat N` this often (the plain NXP example prints
    /// nothing between messages). It goes on in kick-alive and stops when the core halts.
    public var heartbeat: SoakDuration?
    /// Faults and their mean times between faults.
    public var faults: [FaultSpec]
    /// The tty driver is a module: `/dev/ttyRPMSG30` appears only after `modprobe imx_rpmsg_tty`
    /// (written to the board's control FIFO, as a board file's setup command does).
    public var ttyNeedsModprobe = false
    /// U-Boot started the M7 (`bootaux`): remoteproc reports `attached` and cannot restart it.
    public var m7StartedByBootLoader = false

    public init(uartBaud: Int, bootTime: SoakDuration, heartbeat: SoakDuration? = nil, faults: [FaultSpec] = []) {
        self.uartBaud = uartBaud
        self.bootTime = bootTime
        self.heartbeat = heartbeat
        self.faults = faults
    }

    public static let `default` = SimulatorConfig(uartBaud: 115_200, bootTime: .milliseconds(0))
}

public struct PowerConfig: Sendable, Codable, Equatable {
    /// The `kind` word of a board file (and a timeline).
    public enum Kind: String, Sendable, Codable, CaseIterable { case sim, command, gpio, none }
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

/// The M7 as Linux's remoteproc framework sees it (`/sys/class/remoteproc/remoteprocN`).
public struct RemoteprocConfig: Sendable, Codable, Equatable {
    /// The sysfs directory, or `sim` for the simulated board's.
    public var path: String
    /// The firmware file (under /lib/firmware) to start; nil: the one remoteproc already names.
    public var firmware: String?
    /// How long stop and start may each take.
    public var timeout: SoakDuration

    public init(path: String, firmware: String? = nil, timeout: SoakDuration = .seconds(10)) {
        self.path = path
        self.firmware = firmware
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

// Timelines keep the board file they ran with (run_start), and `rpmsg-soak report` must read
// the timelines of earlier versions: keys added later decode to their defaults when absent.
// The JSON stays flat, as the first versions wrote it (one object per block, a `kind` or
// `source` word beside the keys of that kind), so old and new timelines read alike.

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
        case .gpio: via = .gpio(try c.decode(GpioRelayConfig.self, forKey: .gpio))
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
        case .none, .simulated: break
        case .command(let commands):
            try c.encode(commands.on, forKey: .onCommand)
            try c.encode(commands.off, forKey: .offCommand)
            try c.encodeIfPresent(commands.status, forKey: .statusCommand)
            timeout = commands.timeout
        case .gpio(let relay):
            try c.encode(relay, forKey: .gpio)
        }
        try c.encode(timeout, forKey: .timeout)
        try c.encodeIfPresent(offTime, forKey: .offTime)
        try c.encodeIfPresent(settleTime, forKey: .settleTime)
        try c.encode(onExit, forKey: .onExit)
    }
}

extension KernelLogConfig {
    private enum CodingKeys: String, CodingKey { case source, path }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(Source.self, forKey: .source) {
        case .kmsg: self = .kmsg
        case .file: self = .file(path: try c.decode(String.self, forKey: .path))
        case .sim: self = .simulated
        case .none: self = .unwatched
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        if case .file(let path) = self { try c.encode(path, forKey: .path) }
    }
}

extension LinkConfig {
    private enum CodingKeys: String, CodingKey { case device, match, setup, setupTimeout }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(location: DeviceLocation(device: try c.decode(String.self, forKey: .device),
                                           match: try c.decodeIfPresent([String: String].self, forKey: .match)),
                  setup: try c.decode([String].self, forKey: .setup),
                  setupTimeout: try c.decode(SoakDuration.self, forKey: .setupTimeout))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // Earlier versions always wrote the device, empty when a udev match finds it.
        try c.encode(location.device ?? "", forKey: .device)
        try c.encodeIfPresent(location.match, forKey: .match)
        try c.encode(setup, forKey: .setup)
        try c.encode(setupTimeout, forKey: .setupTimeout)
    }
}

extension UartConfig {
    private enum CodingKeys: String, CodingKey { case device, match, baud, ready, readyTimeout }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(location: DeviceLocation(device: try c.decodeIfPresent(String.self, forKey: .device),
                                           match: try c.decodeIfPresent([String: String].self, forKey: .match)),
                  baud: try c.decode(Int.self, forKey: .baud),
                  ready: try c.decodeIfPresent(String.self, forKey: .ready),
                  readyTimeout: try c.decodeIfPresent(SoakDuration.self, forKey: .readyTimeout) ?? .seconds(30))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(location.device, forKey: .device)
        try c.encodeIfPresent(location.match, forKey: .match)
        try c.encode(baud, forKey: .baud)
        try c.encodeIfPresent(ready, forKey: .ready)
        try c.encode(readyTimeout, forKey: .readyTimeout)
    }
}

extension SimulatorConfig {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(uartBaud: try c.decode(Int.self, forKey: .uartBaud), bootTime: try c.decode(SoakDuration.self, forKey: .bootTime),
                  heartbeat: try c.decodeIfPresent(SoakDuration.self, forKey: .heartbeat),
                  faults: try c.decodeIfPresent([FaultSpec].self, forKey: .faults) ?? [])
        ttyNeedsModprobe = try c.decodeIfPresent(Bool.self, forKey: .ttyNeedsModprobe) ?? false
        m7StartedByBootLoader = try c.decodeIfPresent(Bool.self, forKey: .m7StartedByBootLoader) ?? false
    }
}
