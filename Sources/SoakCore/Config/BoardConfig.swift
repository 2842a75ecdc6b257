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
    /// The labgrid place whose resources stand in for the devices (resolved when a run has it).
    public var labgrid: LabgridConfig?

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

/// The kernel log to watch.
public enum KernelLogConfig: Sendable, Codable, Equatable {
    /// The `source` word of a board file (and a timeline).
    public enum Source: String, Sendable, Codable { case kmsg, file, sim, ssh, none }
    /// This machine's /dev/kmsg.
    case kmsg
    /// A file to follow (one kmsg record or one plain line per line).
    case file(path: String)
    /// The simulated board's.
    case simulated
    /// The board's own, read over the link's ssh connection: `path` on the board (/dev/kmsg,
    /// or a file in its format).
    case ssh(path: String)
    /// None (`source: none`).
    case unwatched

    public var source: Source {
        switch self {
        case .kmsg: return .kmsg
        case .file: return .file
        case .simulated: return .sim
        case .ssh: return .ssh
        case .unwatched: return .none
        }
    }

    /// The path on the board read over ssh when the board file names none.
    public static let sshDefaultPath = "/dev/kmsg"

    /// The path it reads (this machine's, or the board's over ssh), if it names one.
    public var path: String? {
        switch self {
        case .kmsg: return "/dev/kmsg"
        case .file(let p), .ssh(let p): return p
        case .simulated, .unwatched: return nil
        }
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

// Timelines keep the board file they ran with (run_start), and `rpmsg-soak report` must read
// the timelines of earlier versions: keys added later decode to their defaults when absent.
// The JSON stays flat, as the first versions wrote it (one object per block, a `kind` or
// `source` word beside the keys of that kind), so old and new timelines read alike.

extension KernelLogConfig {
    private enum CodingKeys: String, CodingKey { case source, path }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(Source.self, forKey: .source) {
        case .kmsg: self = .kmsg
        case .file: self = .file(path: try c.decode(String.self, forKey: .path))
        case .sim: self = .simulated
        case .ssh: self = .ssh(path: try c.decodeIfPresent(String.self, forKey: .path) ?? Self.sshDefaultPath)
        case .none: self = .unwatched
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        switch self {
        case .file(let path), .ssh(let path): try c.encode(path, forKey: .path)
        case .kmsg, .simulated, .unwatched: break
        }
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
