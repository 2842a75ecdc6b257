import BoardSimulator
import Foundation
import Glibc
import SoakCore
import SoakLinux
import SoakReports
import Synchronization

/// Set by SIGINT/SIGTERM; the runner looks at it on every turn of its loop.
let stopRequested = Atomic<Bool>(false)

/// Wires one run together: run folder, timeline, board, link, runner, reports.
struct SoakSession {
    let plan: Plan
    let outDirectory: String
    let quiet: Bool
    /// Report every test case and the measurements to LAVA (`lava-test-case`) after the reports.
    var lava = false
    /// `run --baseline`: judged against it after the reports.
    var baseline: CompareInput? = nil
    /// `run --self-stats`: the tester's own cost printed after the verdict (recorded always).
    var selfStats = false

    func run() -> Int32 {
        installStopHandlers()
        let wallStart = Date()
        let monoStart = MonotonicClock.read()
        let folder: String
        let timeline: TimelineWriter
        do {
            folder = try makeRunFolder(start: wallStart)
            timeline = try TimelineWriter(path: "\(folder)/\(RunFolder.timelineName)")
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            FileHandle.standardError.write(Data("rpmsg-soak: --out \(outDirectory): cannot create a run folder there: \(reason)\n".utf8))
            return 2
        }
        print("run folder: \(folder)")
        fflush(nil)

        // A labgrid place first: its resources are the board's devices. The timeline keeps the
        // board as resolved (the ssh address, the serial port), which is what the run used.
        let farm = FarmPlace(board: plan.board, reserve: plan.reserve)
        var start = Event(t: 0, wall: WallTime.iso8601(wallStart), type: .runStart, message: "soak \(plan.profile.name) on \(plan.board.name)")
        start.run = RunInfo(profile: plan.profile, board: farm.board, profilePath: plan.profilePath, boardPath: plan.boardPath,
                            seed: plan.profile.seed, host: ProcessInfo.processInfo.hostName, tool: "rpmsg-soak \(RpmsgSoak.version)")
        timeline.emit(start)
        if let what = farm.note { timeline.emit(event(.place, monoStart: monoStart, wallStart: wallStart, message: what)) }
        if let error = farm.error {
            var e = event(.runEnd, monoStart: monoStart, wallStart: wallStart, message: "\(error)")
            e.end = RunEnd(reason: .infrastructure, detail: "\(error)", totals: Counters(), seconds: Double(MonotonicClock.read() - monoStart) / 1e9)
            e.end?.selfStats = SelfStats.measure()
            timeline.emit(e)
        } else {
            soak(board: farm.board, place: farm.place, folder: folder, timeline: timeline, monoStart: monoStart, wallStart: wallStart)
        }
        // Released on every way out of soak(): its end, an error, SIGINT and SIGTERM.
        if let what = farm.place?.release() {
            timeline.emit(event(.place, monoStart: monoStart, wallStart: wallStart, message: what))
            if what.contains("could not") { FileHandle.standardError.write(Data("rpmsg-soak: \(what)\n".utf8)) }
        }
        return finish(folder: folder, timeline: timeline)
    }

    /// The board file's labgrid place, acquired and its resources read (or why not); the board
    /// as the run uses it.
    struct FarmPlace {
        var board: BoardConfig
        var place: LabgridPlace?
        var note: String?
        var error: Error?

        init(board: BoardConfig, reserve: Plan.Reservation?) {
            self.board = board
            guard let config = board.labgrid else { return }
            do {
                let place = try reserve.map { r throws(LabgridPlace.Failure) in
                    try LabgridPlace.reserve(config: config, tags: r.tags, timeout: r.timeout)
                } ?? LabgridPlace(config: config)
                self.place = place
                note = try place.acquire()
                self.board = try place.resolve(board)
            } catch {
                self.error = error
            }
        }
    }

    /// Everything between the run's start event and its reports. Each device is closed and the
    /// power left in its declared state on the way out, before the reports are written.
    private func soak(board: BoardConfig, place: LabgridPlace?, folder: String, timeline: TimelineWriter, monoStart: UInt64, wallStart: Date) {
        func note(_ kind: Event.Kind, _ text: String) {
            var e = event(kind, monoStart: monoStart, wallStart: wallStart, message: text)
            e.message = text
            timeline.emit(e)
        }
        func endEarly(_ error: Error) {
            var e = event(.runEnd, monoStart: monoStart, wallStart: wallStart, message: "\(error)")
            e.end = RunEnd(reason: .infrastructure, detail: "\(error)", totals: Counters(),
                           seconds: Double(MonotonicClock.read() - monoStart) / 1e9)
            e.end?.selfStats = SelfStats.measure()
            timeline.emit(e)
        }
        // A relay line is requested first and held for the whole run: if someone else holds
        // it, nothing else is touched. Requesting it drives it on (the board must be up to soak).
        var power: PowerControl?
        defer {
            do {
                if let what = try power?.finish() { note(.power, what) }
            } catch {
                let text = "could not leave the board in its declared power state (on_exit: \(board.power?.onExit.rawValue ?? "on")): \(error)"
                FileHandle.standardError.write(Data("rpmsg-soak: \(text)\n".utf8))
                note(.warning, text)
            }
        }
        let parts = BoardParts(board: board, simulatorDirectory: "\(folder)/sim", place: place,
                               interrupted: { stopRequested.load(ordering: .relaxed) })
        // What the board file takes from the environment (LAVA's commands) is there, or nothing is touched.
        let missing = parts.environmentProblems()
        if !missing.isEmpty {
            // finish() says it on stderr too, with the verdict.
            endEarly(EnvironmentMissing(text: missing.joined(separator: "; ")))
            return
        }
        do {
            power = try parts.powerControl(initial: true, note: { note(.power, $0) })
        } catch {
            endEarly(error)
            return
        }

        // The simulated board boots first, so its UART reader opens at once and reads the boot
        // banner before the first echo (a banner after it means the M7 rebooted).
        var simulator: SimulatedBoard?
        defer { simulator?.stop() }
        var setupError: Error?
        if board.isSimulated {
            let sim = SimulatedBoard(options: .init(config: board.simulator ?? .default, seed: plan.profile.seed,
                                                    directory: parts.simulatorDirectory))
            sim.start()
            simulator = sim
            power = (try? parts.powerControl(initial: true, simulated: sim)) ?? power
        }
        do {
            try parts.setup?()
        } catch {
            setupError = error
        }
        if let sim = simulator, setupError == nil, sim.waitUntilBooted(timeout: plan.profile.link.openTimeout, interrupted: parts.interrupted) == nil {
            setupError = LinkOpenError(device: "sim", reason: "the simulated board did not boot, or its RPMsg tty did not appear, within \(plan.profile.link.openTimeout) (with simulator.tty_needs_modprobe the board file's setup must load the driver)")
        }
        let watch = startWatchers(parts, folder: folder, monoStart: monoStart, timeline: timeline, wallStart: wallStart)
        defer { for source in watch.sources { source.stop() } }
        let link: Link
        do {
            if let setupError { throw setupError }
            let timeout = plan.profile.link.openTimeout
            if timeout.nanoseconds > 0, parts.linkNotThereYet() != nil {
                FileHandle.standardError.write(Data("rpmsg-soak: \(parts.linkDevice) is not there yet; waiting up to \(timeout) (link.open_timeout)\n".utf8))
            }
            link = try parts.linkOpener.open(timeout: timeout, interrupted: parts.interrupted)
            let e = event(.linkOpen, monoStart: monoStart, wallStart: wallStart, message: "opened \(link.path) (\(link.openedAs))")
            timeline.emit(e)
        } catch {
            endEarly(error)
            return
        }

        tightenTimerSlack()
        // Without --quiet a line per interval, failure and recovery: the sign of life of a long run.
        let sink: EventSink = quiet ? timeline : ProgressSink(next: timeline) { line in
            print(line)
            fflush(nil)
        }
        // Over ssh, the network's own round trip beside the soak: every latency includes it.
        let network = parts.networkProbe
        network?.start()
        defer { network?.stop() }
        let runner: SoakRunner
        do {
            runner = try SoakRunner(profile: plan.profile, link: link, clock: MonotonicClock(), sink: sink,
                                    runStartMono: monoStart, runStartWall: wallStart, watch: watch.runnerWatch,
                                    recovery: parts.recoverySteps(power: power), network: network,
                                    shouldStop: { stopRequested.load(ordering: .relaxed) })
        } catch {
            endEarly(error)
            return
        }
        runner.measureSelf = SelfStats.measure
        _ = runner.run()
        link.close()
    }

    private func finish(folder: String, timeline: TimelineWriter) -> Int32 {
        timeline.sync()
        do {
            let summary = try RunFolder.writeReports(directory: folder)
            // The run folder was the first line printed: --quiet adds only the verdict.
            print(quiet ? TextReport.verdictLine(summary) : TextReport.render(summary))
            if selfStats, quiet, let line = TextReport.testerCostLine(summary) { print("  " + line) }
            fflush(nil)
            if lava { LavaReporter.report(summary) }
            if summary.verdict == .error || summary.verdict == .incomplete {
                // CI logs often keep only stderr: say why there too.
                // The verdict line names the tool already.
                FileHandle.standardError.write(Data("\(TextReport.verdictLine(summary))\n".utf8))
            }
            if let baseline {
                let gate = try gateAgainst(baseline, summary: summary, folder: folder)
                // The run's own verdict first: a failed, cut-off or unreachable run says so.
                if summary.verdict.exitCode == 0 { return gate.exitCode }
            }
            return summary.verdict.exitCode
        } catch {
            FileHandle.standardError.write(Data("rpmsg-soak: cannot write the reports in \(folder): \(error)\n".utf8))
            return 3
        }
    }

    /// The run judged against `baseline` with the profile's gate: compare.json and compare.md in
    /// the run folder, the gate's test suite after the run's in junit.xml.
    private func gateAgainst(_ baseline: CompareInput, summary: RunSummary, folder: String) throws -> Comparison {
        let c = Comparison.build(baseline: baseline.summary, baselinePath: baseline.path, current: summary, currentPath: folder,
                                 gate: plan.profile.gate ?? .default)
        try CompareFolders.writeReports(c, directory: folder, junit: false)
        try Data(GateJUnit.render(run: summary, gate: c).utf8).write(to: URL(fileURLWithPath: "\(folder)/junit.xml"), options: .atomic)
        print(quiet ? CompareText.verdictLine(c) : "\n" + CompareText.render(c))
        fflush(nil)
        return c
    }

    func event(_ kind: Event.Kind, monoStart: UInt64, wallStart: Date, message: String) -> Event {
        let t = Double(MonotonicClock.read() &- monoStart) / 1e9
        return Event(t: t, wall: WallTime.iso8601(wallStart.addingTimeInterval(t)), type: kind, message: message)
    }

    private func makeRunFolder(start: Date) throws -> String {
        let stamp = WallTime.iso8601(start).prefix(19).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let fm = FileManager.default
        try fm.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
        var name = "\(plan.profile.name)-\(stamp)"
        var n = 1
        while fm.fileExists(atPath: "\(outDirectory)/\(name)") {
            n += 1
            name = "\(plan.profile.name)-\(stamp)-\(n)"
        }
        try fm.createDirectory(atPath: "\(outDirectory)/\(name)", withIntermediateDirectories: false)
        let latest = "\(outDirectory)/latest"
        unlink(latest)
        symlink(name, latest)
        return "\(outDirectory)/\(name)"
    }

}

/// What the board file takes from the environment is not there: the run ends before the board is touched.
struct EnvironmentMissing: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}

/// SIGINT and SIGTERM set `stopRequested`; SIGPIPE is ignored.
func installStopHandlers() {
    signal(SIGPIPE, SIG_IGN)
    let handler: @convention(c) (Int32) -> Void = { _ in stopRequested.store(true, ordering: .relaxed) }
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
    // A parent may have started us with these blocked (test runners, some CI agents):
    // an overnight run must still stop cleanly when asked.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}
