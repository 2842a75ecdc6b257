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

    /// `run --resume`: the run folder to go on in, and where its run stopped.
    var resume: (folder: String, point: ResumePoint)? = nil
    /// `run --self-stats`: the tester's own cost printed after the verdict (recorded always).
    var selfStats = false

    func run() -> Int32 {
        installStopHandlers()
        let live = LiveOutput(quiet: quiet, metrics: metrics)
        if let resume { return resumeRun(resume.folder, resume.point, live: live) }
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

    /// The same run goes on in `folder`: its timeline continues with a `resumed` event at the
    /// run time the wall clock says (the gap shows as a gap), counts and phase from the stop.
    private func resumeRun(_ folder: String, _ point: ResumePoint, live: LiveOutput) -> Int32 {
        let path = "\(folder)/\(RunFolder.timelineName)"
        let torn = RunFolder.dropTornLastLine(path: path)
        let timeline: TimelineWriter
        do {
            timeline = try TimelineWriter(path: path, syncInterval: plan.profile.timelineSync ?? Profile.defaultTimelineSync)
        } catch {
            FileHandle.standardError.write(Data("rpmsg-soak: --resume \(folder): cannot append to its timeline: \(ErrorText.reason(error))\n".utf8))
            return 2
        }
        print("run folder: \(folder)")
        fflush(nil)
        let at = point.resumeAt(wallNow: Date())
        // The run's own start, moved back on this machine's monotonic clock (which restarted
        // at a reboot): differences wrap consistently, so every `t` continues the run's.
        let monoStart = MonotonicClock.read() &- UInt64(at * 1e9)
        let gap = at - point.stoppedAt
        var e = Event(t: at, wall: WallTime.iso8601(point.startWall.addingTimeInterval(at)), type: .resumed,
                      message: "resumed after a gap of " + String(format: "%.1f s", gap) + ": the run had stopped at "
                          + String(format: "%.1f s", point.stoppedAt) + " (\(point.stop.rawValue)); phase \(plan.profile.phases[point.phaseIndex].name) goes on with "
                          + String(format: "%.1f s", max(0, Double(plan.profile.phases[point.phaseIndex].duration.nanoseconds) / 1e9 - point.soakedInPhase)) + " left"
                          + (torn ? "; the torn last line of the timeline was dropped" : ""))
        e.resumed = ResumeMark(stop: point.stop, stoppedAtSeconds: point.stoppedAt, gapSeconds: gap, countsAtSeconds: point.countsAt)
        timeline.emit(e)
        timeline.sync()
        if !quiet { print("[\(ProgressLine.clock(at))] \(e.message ?? "resumed")") }
        // The figures (console, status line, metrics) go on from the run's own events.
        live.begin(((try? TimelineReader.read(path: path).events) ?? []))
        let farm = FarmPlace(board: plan.board, reserve: nil)
        return soakAndReport(farm: farm, folder: folder, timeline: timeline, monoStart: monoStart, wallStart: point.startWall, live: live)
    }

    private func soakAndReport(farm: FarmPlace, folder: String, timeline: TimelineWriter, monoStart: UInt64, wallStart: Date,
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

    /// Why no run folder could be made, in one line.
    struct FolderProblem: Error { var text: String }

    /// The run folder with its timeline open, or why not. On failure everything made here is
    /// removed again (exit 2 touches nothing). Under --out the folder is named from the safe
    /// form of the profile name and `latest` is pointed at it once the timeline is open.
    private func openRunFolder(start: Date) -> Result<(String, TimelineWriter), FolderProblem> {
        let option = runDirectory == nil ? "--out \(outDirectory)" : "--run-dir \(runDirectory!)"
        var made = MadeDirectories()
        func fail(_ text: String) -> Result<(String, TimelineWriter), FolderProblem> {
            made.undo()
            return .failure(FolderProblem(text: "\(option): \(text)"))
        }
        let folder: String
        if let dir = runDirectory {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
                guard isDir.boolValue else { return fail("is a file, not a folder: give a new or empty folder") }
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
                guard entries.isEmpty else {
                    return fail("holds \(entries.count) file(s) already (\(entries.sorted().prefix(3).joined(separator: ", "))\(entries.count > 3 ? ", ..." : "")): give a new or empty folder; a run never mixes its files with another's")
                }
            } else if let problem = made.make(dir) {
                return fail("cannot create the run folder: \(problem)")
            }
            folder = dir
        } else {
            if let problem = made.make(outDirectory) {
                return fail("cannot create a run folder there: \(problem)")
            }
            let stamp = WallTime.iso8601(start).prefix(19).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
            let base = "\(RunFolder.safeName(plan.profile.name))-\(stamp)"
            var name = base
            var n = 1
            while true {
                if mkdir("\(outDirectory)/\(name)", 0o755) == 0 { break }
                let code = errno
                guard code == EEXIST, n < 1000 else {
                    return fail("cannot create a run folder there: \(made.describe(code, at: "\(outDirectory)/\(name)"))")
                }
                n += 1
                name = "\(base)-\(n)"
            }
            made.created.append("\(outDirectory)/\(name)")
            folder = "\(outDirectory)/\(name)"
        }
        let timeline: TimelineWriter
        do {
            timeline = try TimelineWriter(path: "\(folder)/\(RunFolder.timelineName)",
                                          syncInterval: plan.profile.timelineSync ?? Profile.defaultTimelineSync)
        } catch {
            return fail("cannot create the timeline: \(ErrorText.reason(error))")
        }
        if runDirectory == nil {
            let latest = "\(outDirectory)/latest"
            unlink(latest)
            symlink((folder as NSString).lastPathComponent, latest)
        }
        return .success((folder, timeline))
    }

}

/// Directories made for a run, removed again (if still empty) when the run cannot start.
struct MadeDirectories {
    var created: [String] = []

    /// Makes `path` and its missing parents; nil, or why not in plain words.
    mutating func make(_ path: String) -> String? {
        var missing: [String] = []
        var p = path
        while !p.isEmpty && p != "/" && p != "." && !FileManager.default.fileExists(atPath: p) {
            missing.append(p)
            p = (p as NSString).deletingLastPathComponent
        }
        var isDir: ObjCBool = false
        if !p.isEmpty && p != "." && FileManager.default.fileExists(atPath: p, isDirectory: &isDir) && !isDir.boolValue {
            return "\(p) is a file, not a folder"
        }
        for dir in missing.reversed() {
            if mkdir(dir, 0o755) != 0 && errno != EEXIST { return describe(errno, at: dir) }
            created.append(dir)
        }
        if missing.isEmpty {
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return "\(path) cannot be looked at" }
            if !isDir.boolValue { return "\(path) is a file, not a folder" }
            if access(path, W_OK) != 0 { return "\(path): \(ErrorText.errnoText(errno))" }
        }
        return nil
    }

    func describe(_ code: Int32, at path: String) -> String {
        if code == ENOTDIR { return "a part of \(path) is a file, not a folder" }
        return "\(path): \(ErrorText.errnoText(code))"
    }

    /// Removes what was made, deepest first, with anything the run put in it (its timeline).
    func undo() {
        for dir in created.reversed() {
            unlink("\(dir)/\(RunFolder.timelineName)")
            rmdir(dir)
        }
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
