import BoardSimulator
import CPosix
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
    /// `run --run-dir`: this folder (new or empty) instead of a new one under `outDirectory`;
    /// `latest` is then not touched.
    var runDirectory: String? = nil
    let quiet: Bool
    /// Report every test case and the measurements to LAVA (`lava-test-case`) after the reports.
    var lava = false
    /// `run --baseline`: judged against it after the reports.
    var baseline: CompareInput? = nil
    /// `run --metrics`: the live figures for node_exporter's textfile collector.
    var metrics: LiveOutput.Metrics? = nil

    /// `run --resume`: the run folder to go on in, where its run stopped, and the console's
    /// fold of its timeline so far (the live figures go on from it).
    var resume: (folder: String, point: ResumePoint, seen: ProgressLine)? = nil
    /// `run --self-stats`: the tester's own cost printed after the verdict (recorded always).
    var selfStats = false

    func run() -> Int32 {
        installStopHandlers()
        SelfStats.startCounting()
        let live = LiveOutput(quiet: quiet, metrics: metrics)
        if let resume { return resumeRun(resume.folder, resume.point, seen: resume.seen, live: live) }
        let wallStart = Date()
        let monoStart = MonotonicClock.read()
        let folder: String
        let timeline: TimelineWriter
        switch openRunFolder(start: wallStart) {
        case .success(let made):
            (folder, timeline) = made
        case .failure(let problem):
            // Exit 2 promises nothing was touched: what was made for the run was removed again.
            FileHandle.standardError.write(Data("rpmsg-soak: \(problem.text)\n".utf8))
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
        live.begin([start])
        return soakAndReport(farm: farm, folder: folder, timeline: timeline, monoStart: monoStart, wallStart: wallStart, live: live)
    }

    func soakAndReport(farm: FarmPlace, folder: String, timeline: TimelineWriter, monoStart: UInt64, wallStart: Date,
                               live: LiveOutput) -> Int32 {
        if let what = farm.note { timeline.emit(event(.place, monoStart: monoStart, wallStart: wallStart, message: what)) }
        if let error = farm.error {
            var e = event(.runEnd, monoStart: monoStart, wallStart: wallStart, message: "\(ErrorText.describe(error))")
            e.end = RunEnd(reason: .infrastructure, detail: "\(ErrorText.describe(error))", totals: Counters(), seconds: Double(MonotonicClock.read() &- monoStart) / 1e9)
            e.end?.selfStats = SelfStats.measure()
            timeline.emit(e)
        } else {
            soak(board: farm.board, place: farm.place, folder: folder, timeline: timeline, live: live, monoStart: monoStart, wallStart: wallStart)
        }
        // Released on every way out of soak(): its end, an error, SIGINT and SIGTERM.
        if let what = farm.place?.release() {
            timeline.emit(event(.place, monoStart: monoStart, wallStart: wallStart, message: what))
            if what.contains("could not") { FileHandle.standardError.write(Data("rpmsg-soak: \(what)\n".utf8)) }
        }
        return finish(folder: folder, timeline: timeline, live: live)
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
    private func soak(board: BoardConfig, place: LabgridPlace?, folder: String, timeline: TimelineWriter, live: LiveOutput, monoStart: UInt64, wallStart: Date) {
        func note(_ kind: Event.Kind, _ text: String) {
            var e = event(kind, monoStart: monoStart, wallStart: wallStart, message: text)
            e.message = text
            timeline.emit(e)
        }
        func endEarly(_ error: Error) {
            // SIGINT/SIGTERM before the link was open (even before the run folder existed):
            // interrupted, as later, not an infrastructure error.
            let interrupted = stopRequested.load(ordering: .relaxed)
            let text = interrupted ? "interrupted before the soak began (SIGINT/SIGTERM)" : ErrorText.reason(error)
            var e = event(.runEnd, monoStart: monoStart, wallStart: wallStart, message: text)
            e.end = RunEnd(reason: interrupted ? .interrupted : .infrastructure, detail: text, totals: Counters(),
                           seconds: Double(MonotonicClock.read() &- monoStart) / 1e9)
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
                let text = "could not leave the board in its declared power state (on_exit: \(board.power?.onExit.rawValue ?? "on")): \(ErrorText.describe(error))"
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
        defer {
            for source in watch.sources { source.stop() }
            // Lines the disk did not take: counted, said once on stderr as it happened, here on the timeline.
            for log in watch.logs {
                if let (count, reason) = log.failures {
                    note(.warning, "\(count) lines could not be written to \((log.path as NSString).lastPathComponent): \(reason) (they were still judged by the rules)")
                }
            }
        }
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
        // Without --quiet a line per interval, failure and recovery (on a terminal, a status line
        // for the intervals): the sign of life of a long run; with --metrics, the figures file.
        let sink = live.sink(next: timeline)
        // Over ssh, the network's own round trip beside the soak: every latency includes it.
        let network = parts.networkProbe
        network?.start()
        defer { network?.stop() }
        let runner: SoakRunner
        do {
            runner = try SoakRunner(profile: plan.profile, link: link, clock: MonotonicClock(), sink: sink,
                                    runStartMono: monoStart, runStartWall: wallStart, watch: watch.runnerWatch,
                                    recovery: parts.recoverySteps(power: power), network: network, resume: resume?.point,
                                    shouldStop: { stopRequested.load(ordering: .relaxed) })
        } catch {
            endEarly(error)
            return
        }
        runner.measureSelf = SelfStats.measure
        _ = runner.run()
        link.close()
    }

    private func finish(folder: String, timeline: TimelineWriter, live: LiveOutput) -> Int32 {
        timeline.close()
        do {
            let summary: RunSummary
            let lost = timeline.lost
            func sayLoss(_ summary: RunSummary) {
                // What the disk did not take, once more at the end: the warnings during the run may be long scrolled away.
                guard lost != nil else { return }
                for w in summary.warnings where w.contains(" could not be written to ") {
                    FileHandle.standardError.write(Data("rpmsg-soak: warning: \(w)\n".utf8))
                }
            }
            do {
                summary = try RunFolder.writeReports(directory: folder, lost: lost)
                live.finish(summary)
                sayLoss(summary)
            } catch let e as RunFolder.FilesNotWritten {
                live.finish(e.summary)
                sayLoss(e.summary)
                // The verdict still reaches the console; each report that could not be written, one line.
                for line in e.problems { FileHandle.standardError.write(Data("rpmsg-soak: \(line)\n".utf8)) }
                print(TextReport.verdictLine(e.summary))
                fflush(nil)
                return 3
            }
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
            FileHandle.standardError.write(Data("rpmsg-soak: cannot write the reports in \(folder): \(ErrorText.reason(error))\n".utf8))
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
}

/// What the board file takes from the environment is not there: the run ends before the board is touched.
struct EnvironmentMissing: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}

/// SIGINT and SIGTERM set `stopRequested`; SIGPIPE is ignored. `run` installs them first of all,
/// before the profile is read: a signal in its first milliseconds still leaves a run folder
/// with a timeline and reports, and exits 130 as later.
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
    // Caught before these handlers were in place (CPosix's constructor, before main).
    if soak_early_stop_signal() != 0 { stopRequested.store(true, ordering: .relaxed) }
}
