/// A board file: WHERE the hardware is. Knows nothing of traffic or verdicts.
public struct BoardConfig: Sendable, Codable, Equatable {
    public var name: String
    public var description: String?
    public var link: LinkConfig
    /// Present when the link device is `sim`: how the built-in simulated board behaves.
    public var simulator: SimulatorConfig?
    /// The M7 debug UART, if watched.
    public var uart: UartConfig?
    /// The kernel log, if watched.
    public var kernelLog: KernelLogConfig?
    /// How to switch the board's power; nil: it cannot be (a hang ends the run).
    public var power: PowerConfig?
    /// The M7's remoteproc instance, for the remoteproc-restart recovery step.
    public var remoteproc: RemoteprocConfig?

    public var isSimulated: Bool { link.device == LinkConfig.simulatorDevice }

    /// The board used when none is named: the simulated i.MX8M Plus.
    public static let builtInSimulator = BoardConfig(
        name: "sim", description: "built-in simulated i.MX8M Plus running the NXP string echo firmware",
        link: LinkConfig(device: LinkConfig.simulatorDevice, setup: [], setupTimeout: .seconds(30)),
        simulator: .default,
        uart: UartConfig(device: LinkConfig.simulatorDevice, match: nil, baud: 115_200),
        kernelLog: KernelLogConfig(source: .sim, path: nil),
        power: PowerConfig(kind: .sim),
        remoteproc: RemoteprocConfig(path: LinkConfig.simulatorDevice))

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

public struct UartConfig: Sendable, Codable, Equatable {
    /// A tty path, or `sim` (the simulated board's UART), or nil when `match` finds it.
    public var device: String?
    /// udev properties the port must have (ID_SERIAL_SHORT, ID_USB_INTERFACE_NUM, ID_PATH, ...).
    public var match: [String: String]?
    public var baud: Int
    /// A regular expression for the line the firmware prints when it is ready (its banner):
    /// after a power cycle or M7 restart, the probe waits for it.
    public var ready: String? = nil
    /// How long to wait for the ready line.
    public var readyTimeout: SoakDuration = .seconds(30)

    public init(device: String?, match: [String: String]?, baud: Int, ready: String? = nil, readyTimeout: SoakDuration = .seconds(30)) {
        self.device = device
        self.match = match
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

public struct KernelLogConfig: Sendable, Codable, Equatable {
    public enum Source: String, Sendable, Codable { case kmsg, file, sim, none }
    public var source: Source
    /// For `file`: the file to follow (one kmsg record or one plain line per line).
    public var path: String?
}

public struct LinkConfig: Sendable, Codable, Equatable {
    public static let simulatorDevice = "sim"
    /// A tty path such as `/dev/ttyRPMSG30`, a glob such as `/dev/ttyRPMSG*` (exactly one must
    /// match), or `sim` for the built-in simulated board. Empty when `match` finds it.
    public var device: String
    /// udev properties the tty must have, instead of a path.
    public var match: [String: String]? = nil
    /// Shell commands run once before the link is opened (for example `modprobe imx_rpmsg_tty`).
    public var setup: [String]
    /// How long a setup command may take.
    public var setupTimeout: SoakDuration
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
    public enum Kind: String, Sendable, Codable, CaseIterable { case sim, command, gpio, none }
    /// The power state the board is left in when the tester stops, on every exit path it controls.
    public enum ExitState: String, Sendable, Codable, CaseIterable {
        case on, off
        /// Whatever it was last switched to.
        case asIs = "as-is"

        /// Power on (true), off (false), or nothing to do (nil).
        public var powered: Bool? { self == .asIs ? nil : self == .on }
    }
    public var kind: Kind
    /// For `command`: shell commands (a USB relay, a PDU, uhubctl, labgrid-client power ...).
    public var onCommand: String?
    public var offCommand: String?
    /// Optional: exits 0 when the board is powered.
    public var statusCommand: String?
    public var timeout: SoakDuration
    /// For `gpio`: the relay line.
    public var gpio: GpioRelayConfig?
    /// How long the power stays off in a cycle (the board's capacitors); nil: the profile's
    /// recovery.off_time.
    public var offTime: SoakDuration?
    /// After power returns, how long to wait before looking for the board's devices.
    public var settleTime: SoakDuration?
    public var onExit: ExitState

    public init(kind: Kind, onCommand: String? = nil, offCommand: String? = nil, statusCommand: String? = nil,
                timeout: SoakDuration = .seconds(30), gpio: GpioRelayConfig? = nil, offTime: SoakDuration? = nil,
                settleTime: SoakDuration? = nil, onExit: ExitState = .on) {
        self.kind = kind
        self.onCommand = onCommand
        self.offCommand = offCommand
        self.statusCommand = statusCommand
        self.timeout = timeout
        self.gpio = gpio
        self.offTime = offTime
        self.settleTime = settleTime
        self.onExit = onExit
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

extension PowerConfig {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try c.decode(Kind.self, forKey: .kind),
                  onCommand: try c.decodeIfPresent(String.self, forKey: .onCommand),
                  offCommand: try c.decodeIfPresent(String.self, forKey: .offCommand),
                  statusCommand: try c.decodeIfPresent(String.self, forKey: .statusCommand),
                  timeout: try c.decodeIfPresent(SoakDuration.self, forKey: .timeout) ?? .seconds(30),
                  gpio: try c.decodeIfPresent(GpioRelayConfig.self, forKey: .gpio),
                  offTime: try c.decodeIfPresent(SoakDuration.self, forKey: .offTime),
                  settleTime: try c.decodeIfPresent(SoakDuration.self, forKey: .settleTime),
                  onExit: try c.decodeIfPresent(ExitState.self, forKey: .onExit) ?? .on)
    }
}

extension UartConfig {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(device: try c.decodeIfPresent(String.self, forKey: .device),
                  match: try c.decodeIfPresent([String: String].self, forKey: .match),
                  baud: try c.decode(Int.self, forKey: .baud),
                  ready: try c.decodeIfPresent(String.self, forKey: .ready),
                  readyTimeout: try c.decodeIfPresent(SoakDuration.self, forKey: .readyTimeout) ?? .seconds(30))
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
