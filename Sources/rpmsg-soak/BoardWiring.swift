import BoardSimulator
import Foundation
import Glibc
import SoakCore
import SoakLinux
import SoakReports

/// Which devices a board file asks for and how they are recovered: the power switch, the M7
/// UART and kernel-log readers, the recovery steps. SoakSession owns their lifetimes.
extension SoakSession {
    /// The board's power switch for a run. A relay line is requested first and held for the
    /// whole run: if someone else holds it, nothing else is touched. Requesting it drives it on
    /// (the board must be up to soak). The simulator's power input is wired when it starts.
    func makePower(note: (String) -> Void) throws -> PowerControl? {
        guard let p = plan.board.power else { return nil }
        switch p.via {
        case .gpio(let gpio):
            let relay = try GpioPowerSwitch(config: gpio, initial: true, guarding: p.onExit.powered)
            note("\(relay.name) requested and driven on; held until the run ends")
            return PowerControl(relay, onExit: p.onExit, knownOn: true)
        case .command(let commands):
            return PowerControl(CommandPowerSwitch(on: commands.on, off: commands.off, timeout: commands.timeout), onExit: p.onExit)
        case .simulated, .none:
            return nil
        }
    }

    /// How this board is recovered: reopen its tty, restart the M7 through remoteproc, or cycle
    /// its power (the simulator's power input, a relay, the board file's power commands), each
    /// step then waiting for the tty again.
    func recoverySteps(power: PowerControl?, folder: String) -> [RecoveryStep] {
        let board = plan.board
        // The simulated board keeps its tty link, remoteproc folder and control FIFO in the run
        // folder; its setup commands find them through RPMSG_SOAK_SIM.
        let sim = board.isSimulated ? "\(folder)/sim" : nil
        let device: DeviceSpec
        switch (sim, board.link.location) {
        case (let sim?, _): device = .path("\(sim)/ttyRPMSG30")
        case (nil, .local(let spec)): device = spec
        // A simulated link without the simulator running has no tty; the path says so when it is not found.
        case (nil, .simulated): device = .path(DeviceLocation.simulatedKeyword)
        }
        let opener = TtyLinkOpener(device: device)
        let core = board.remoteproc.map {
            RemoteprocCore(Remoteproc(path: sim.map { "\($0)/remoteproc" } ?? $0.path), firmware: $0.firmware, timeout: $0.timeout)
        }
        let environment = sim.map { ["RPMSG_SOAK_SIM": $0] } ?? [:]
        let setup: (() throws -> Void)? = board.link.setup.isEmpty ? nil : {
            try SetupCommands.run(board.link.setup, timeout: board.link.setupTimeout, environment: environment)
        }
        return [
            ReopenStep(opener: opener),
            RemoteprocRestartStep(core: core, opener: opener),
            PowerCycleStep(power: power, offTime: board.power?.offTime, settleTime: board.power?.settleTime, opener: opener, setup: setup),
        ]
    }

    /// Starts the M7 UART and kernel-log readers the board file names (for the simulated
    /// board: its UART pty and its kernel log file under `sim/` in the run folder).
    func startWatchers(folder: String, monoStart: UInt64, timeline: TimelineWriter, wallStart: Date)
        -> (sources: [LineSource], runnerWatch: SoakRunner.Watch) {
        let inbox = LineInbox()
        var sources: [LineSource] = []
        let board = plan.board
        func warn(_ text: String) {
            FileHandle.standardError.write(Data("rpmsg-soak: warning: \(text)\n".utf8))
            var e = event(.warning, monoStart: monoStart, wallStart: wallStart, message: text)
            e.message = text
            timeline.emit(e)
        }
        if let uart = board.uart {
            switch uart.location {
            case .simulated:
                sources.append(SerialLineSource(path: "\(folder)/sim/ttyM7UART", baud: uart.baud))
            case .local(let spec):
                if spec != .path(uart.location.device ?? ""), case .failure(let e) = DeviceLocator.find(spec) {
                    warn("the M7 UART is not there yet: \(e); it is looked for again while the soak runs")
                }
                // Looked up again at every reopen: an adapter that re-enumerates under another name is followed.
                sources.append(SerialLineSource(device: spec, baud: uart.baud))
            }
        }
        switch board.kernelLog {
        case .simulated?: sources.append(KmsgFileSource(path: "\(folder)/sim/kmsg", fromStart: true))
        case .kmsg?:
            if access("/dev/kmsg", R_OK) != 0 {
                warn("cannot read /dev/kmsg (\(String(cString: strerror(errno)))): the kernel log is not watched; run as root, set kernel.dmesg_restrict=0, or set kernel_log: none in the board file")
            } else {
                sources.append(KmsgSource())
            }
        case .file(let p)?: sources.append(KmsgFileSource(path: p, fromStart: false))
        case .unwatched?, nil: break
        }
        for source in sources { source.start(into: inbox) }
        let uartLog = LineLog(path: "\(folder)/uart.log", startMono: monoStart)
        let kernelLog = LineLog(path: "\(folder)/kernel.log", startMono: monoStart)
        let ready = board.uart?.ready.flatMap { try? NSRegularExpression(pattern: $0) }
        let watch = SoakRunner.Watch(inbox: inbox, uartWatched: sources.contains { $0.source == .uart },
                                     kernelWatched: sources.contains { $0.source == .kernel }, ready: ready,
                                     readyTimeout: board.uart?.readyTimeout ?? .seconds(30),
                                     recordNotice: { source, text, at in (source == .uart ? uartLog : kernelLog).append(note: text, at: at) }) { line in
            (line.source == .uart ? uartLog : kernelLog).append(line)
        }
        return (sources, watch)
    }
}
