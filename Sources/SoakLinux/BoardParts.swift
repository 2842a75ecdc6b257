import Foundation
import Glibc
import SoakCore

/// The one place that turns a board file into the parts a run uses: the power switch, the link
/// opener, the UART and kernel-log sources, the M7's remote core and the recovery steps. `run`,
/// `power`, `check` and `sim` all build their parts here, so a new kind of part (a power
/// switch, a link transport, a UART reached another way) is its config case, its type, and
/// one case in this file.
public struct BoardParts {
    public let board: BoardConfig
    /// Where the simulated board keeps its devices (a run's `sim/` folder): its RPMsg tty, its
    /// UART, its kernel log, its remoteproc folder and control FIFO. nil for a real board.
    public let simulatorDirectory: String?
    /// Set by SIGINT/SIGTERM: every wait of every part gives up when it is.
    public let interrupted: @Sendable () -> Bool
    /// The one ssh connection of a board reached over ssh, shared by every opener and setup
    /// command of these parts; it connects at the first use and ends with the last holder.
    let sshConnection: SshConnection?
    /// The board file's labgrid place, acquired, when it names one; `board` is then resolved
    /// with its resources (`LabgridPlace.resolve`).
    public let place: LabgridPlace?
    /// The commands a LAVA worker gives its test action (`power: {kind: lava}`, `uart: {command: lava}`).
    public let lava: LavaEnvironment

    public init(board: BoardConfig, simulatorDirectory: String? = nil, place: LabgridPlace? = nil,
                interrupted: @escaping @Sendable () -> Bool = { false },
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.board = board
        self.place = place
        self.lava = LavaEnvironment(environment)
        self.simulatorDirectory = board.isSimulated ? simulatorDirectory : nil
        self.interrupted = interrupted
        if case .ssh(let target) = board.link.location { sshConnection = SshConnection(target: target) } else { sshConnection = nil }
    }

    // MARK: the environment

    /// What the board file takes from the environment and is not there (LAVA's commands), one
    /// message each naming the variable; empty when nothing is missing. A run checks this before
    /// it touches the board.
    public func environmentProblems() -> [String] { lava.problems(for: board) }

    // MARK: power

    /// The board's power switch under a PowerControl, or nil when the board file has none.
    /// A GPIO relay line is requested here and held until `finish()` releases it, driven to
    /// `initial` from the first moment (no glitch through the other state), with a power guard
    /// process keeping the declared exit state if this process dies. The simulated board's
    /// power input is `simulated`, once the simulator runs.
    /// - Parameter note: what was done to the hardware, for the timeline.
    public func powerControl(initial: Bool, simulated: PowerSwitch? = nil, note: (String) -> Void = { _ in }) throws -> PowerControl? {
        guard let p = board.power else { return nil }
        switch p.via {
        case .gpio(let gpio):
            let relay = try GpioPowerSwitch(config: gpio, initial: initial, guarding: p.onExit.powered)
            note("\(relay.name) requested and driven \(initial ? "on" : "off"); held until the run ends")
            return PowerControl(relay, onExit: p.onExit, knownOn: initial)
        case .command(let c):
            return PowerControl(CommandPowerSwitch(on: c.on, off: c.off, timeout: c.timeout), onExit: p.onExit)
        case .lava(let l):
            // Checked by environmentProblems() before anything is touched; thrown here for `power`.
            let commands = try lava.powerCommands(onExit: p.onExit)
            let power = CommandPowerSwitch(name: "lava", on: commands.on, off: commands.off, reset: commands.hardReset, timeout: l.timeout)
            // A hard reset ends with the power on; a board LAVA handed over is powered.
            return PowerControl(power, onExit: p.onExit, knownOn: power.resetOnly ? true : nil)
        case .simulated:
            return simulated.map { PowerControl($0, onExit: p.onExit, knownOn: true) }
        case .labgrid:
            guard let place else { throw LabgridPlace.Failure(message: "power: {kind: labgrid} needs the board file's labgrid place, acquired") }
            return PowerControl(LabgridPowerSwitch(place: place), onExit: p.onExit)
        case .none:
            return nil
        }
    }

    /// Whether the board is powered, as its switch can tell; nil when it cannot (no status
    /// command, or a switch without a readback).
    public func powerStatus() throws -> Bool? {
        switch board.power?.via {
        case .gpio(let gpio)?:
            return try GpioPowerSwitch.status(config: gpio)
        case .command(let c)?:
            guard let status = c.status else { return nil }
            do {
                try SetupCommands.run([status], timeout: c.timeout)
                return true
            } catch {
                return false
            }
        case .labgrid?:
            guard let place else { return nil }
            return try LabgridPowerSwitch(place: place).isOn()
        case .simulated?, .lava?, .none?, nil:
            return nil
        }
    }

    // MARK: the link

    /// Where the RPMsg tty is.
    public var linkDevice: DeviceSpec {
        switch board.link.location {
        case .local(let spec): return spec
        case .simulated:
            // A simulated link without the simulator running has no tty; the path says so.
            return .path(simulatorDirectory.map { "\($0)/ttyRPMSG30" } ?? DeviceLocation.simulatedKeyword)
        case .ssh(let target):
            // Only for messages: nothing on this machine is looked up for an ssh link.
            return .path(target.description)
        case .labgrid, .tcp:
            // Resolved from a labgrid place before a run; only for messages here.
            return .path(board.link.location.description)
        case .command(let command):
            // The loader takes a command for the UART only.
            return .path(command.description)
        }
    }

    /// How the run reaches its link, at the start and after every recovery step.
    public var linkOpener: LinkOpener {
        if let sshConnection { return SshLinkOpener(connection: sshConnection) }
        return TtyLinkOpener(device: linkDevice)
    }

    /// The round trip of the ssh connection, for a board reached over ssh (not started).
    public var networkProbe: SshRoundTripProbe? { sshConnection.map { SshRoundTripProbe(connection: $0) } }

    /// Why the link is not there right now (for a notice before a wait), or nil. Nothing on this
    /// machine says whether a tty on the board is there: the open tells.
    public func linkNotThereYet() -> String? {
        if sshConnection != nil || board.link.location.isOnBoard { return nil }
        if case .failure(let e) = DeviceLocator.find(linkDevice) { return "\(e)" }
        return nil
    }

    /// The board file's setup commands (`modprobe imx_rpmsg_tty`), run before the link opens and
    /// after every power-on; nil when there are none. A simulated board's reach it through
    /// `$RPMSG_SOAK_SIM/control`.
    public var setup: (() throws -> Void)? {
        let link = board.link
        guard !link.setup.isEmpty else { return nil }
        if let connection = sshConnection {
            // On the board, through the run's connection: `sh -c` there, the command one quoted word.
            return {
                let deadline = MonotonicClock.read() &+ link.setupTimeout.nanoseconds
                do throws(LinkOpenError) { try connection.startMaster(deadline: deadline, interrupted: { false }) } catch {
                    throw SetupCommands.Failure(command: link.setup[0], reason: error.reason)
                }
                try SetupCommands.run(link.setup, timeout: link.setupTimeout) { command in
                    (SshConnection.ssh, connection.arguments(remote: "sh -c " + SshConnection.shellQuoted(command)))
                }
            }
        }
        let environment = simulatorDirectory.map { ["RPMSG_SOAK_SIM": $0] } ?? [:]
        return { try SetupCommands.run(link.setup, timeout: link.setupTimeout, environment: environment) }
    }

    /// For `check`: the parts of the board file on this machine, looked at without changing
    /// anything (the relay's GPIO chip and line, a local link and UART by path, glob or udev
    /// match); each found or not, in a line.
    public func lookAtLocalParts() -> [(found: Bool, line: String)] {
        var looks: [(Bool, String)] = []
        if case .gpio(let gpio)? = board.power?.via {
            let l = GpioPowerSwitch.look(config: gpio)
            looks.append((l.found, "power: " + (l.found ? "relay " : "") + l.text))
        }
        if case .local(let spec) = board.link.location {
            switch DeviceLocator.find(spec) {
            case .success(let node): looks.append((true, "link: \(spec) is \(node)"))
            case .failure(let e): looks.append((false, "link: \(e)" + (board.link.setup.isEmpty ? "" : " (the board file's setup commands may create it)")))
            }
        }
        if case .local(let spec)? = board.uart?.location {
            switch DeviceLocator.find(spec) {
            case .success(let node): looks.append((true, "uart: \(spec) is \(node)"))
            case .failure(let e): looks.append((false, "uart: \(e)"))
            }
        }
        return looks
    }

    // MARK: the UART and the kernel log

    /// The readers of the M7 UART and the kernel log the board file names, not started.
    /// - Parameter warn: what the user should know before the run (a UART not there yet, a
    ///   kernel log that cannot be read).
    public func lineSources(warn: (String) -> Void) -> [LineSource] {
        var sources: [LineSource] = []
        if let uart = board.uart {
            switch uart.location {
            case .simulated:
                if let dir = simulatorDirectory { sources.append(SerialLineSource(path: "\(dir)/ttyM7UART", baud: uart.baud)) }
            case .local(let spec):
                if case .path = spec {} else if case .failure(let e) = DeviceLocator.find(spec) {
                    warn("the M7 UART is not there yet: \(e); it is looked for again while the soak runs")
                }
                // Looked up again at every reopen: an adapter that re-enumerates under another name is followed.
                sources.append(SerialLineSource(device: spec, baud: uart.baud))
            case .ssh(let target):
                // The loader takes no ssh UART (the M7's UART is wired to the lab host).
                warn("the M7 UART on \(target) is not read: a UART over ssh is not supported")
            case .tcp(let host, let port):
                sources.append(TcpSerialSource(host: host, port: port))
            case .labgrid:
                warn("the M7 UART is the labgrid place's serial port, which is known only once the place is acquired: not read")
            case .command(.shell(let command)):
                sources.append(CommandLineSource(command: command))
            case .command(.lava):
                if let command = try? lava.connectionCommand() {
                    sources.append(CommandLineSource(command: command, label: "$\(LavaEnvironment.connection) '\(command)'"))
                } else {
                    warn("the M7 UART is not read: \(LavaEnvironment.connection) is not set")
                }
            }
        }
        switch board.kernelLog {
        case .simulated?:
            if let dir = simulatorDirectory { sources.append(KmsgFileSource(path: "\(dir)/kmsg", fromStart: true)) }
        case .kmsg?:
            if access("/dev/kmsg", R_OK) != 0 {
                warn("cannot read /dev/kmsg (\(Errno.current.description)): the kernel log is not watched; run as root, set kernel.dmesg_restrict=0, or set kernel_log: none in the board file")
            } else {
                sources.append(KmsgSource())
            }
        case .file(let p)?: sources.append(KmsgFileSource(path: p, fromStart: false))
        case .ssh(let p)?:
            // The loader takes `source: ssh` only for a link over ssh: the board's own log, read
            // through the run's connection.
            if let sshConnection { sources.append(SshKmsgSource(connection: sshConnection, path: p)) } else {
                warn("the kernel log \(p) is read over ssh, but the link is not over ssh: the kernel log is not watched")
            }
        case .unwatched?, nil: break
        }
        return sources
    }

    /// The UART line that says the firmware is up, compiled (the loader checked it).
    public var readyLine: NSRegularExpression? { board.uart?.ready.flatMap { try? NSRegularExpression(pattern: $0) } }

    // MARK: the M7 and recovery

    /// The M7 through remoteproc, when the board file names it.
    public var remoteCore: RemoteCore? {
        board.remoteproc.map { RemoteprocCore(remoteproc($0), firmware: $0.firmware, timeout: $0.timeout) }
    }

    /// The board file's remoteproc folder where it is: the simulator's, this machine's sysfs, or
    /// over ssh the board's (the path is then a path on the board, read through the run's connection).
    func remoteproc(_ config: RemoteprocConfig) -> Remoteproc {
        if let dir = simulatorDirectory { return Remoteproc(path: "\(dir)/remoteproc") }
        if let sshConnection { return Remoteproc(files: SshRemoteprocFiles(connection: sshConnection, path: config.path)) }
        return Remoteproc(path: config.path)
    }

    /// Every recovery step this board has parts for; the profile's ladder picks among them, and
    /// a step whose part is missing says why it is skipped.
    public func recoverySteps(power: PowerControl?) -> [RecoveryStep] {
        let opener = linkOpener
        return [
            ReopenStep(opener: opener),
            RemoteprocRestartStep(core: remoteCore, opener: opener),
            PowerCycleStep(power: power, offTime: board.power?.offTime, settleTime: board.power?.settleTime,
                           opener: opener, setup: setup),
        ]
    }
}
