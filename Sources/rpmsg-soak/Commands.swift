import ArgumentParser
import Foundation
import SoakCore
import SoakLinux
import SoakReports

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a soak and write its reports.",
        discussion: """
        Writes a run folder under --out (or at --run-dir): events.jsonl (the timeline, written as the run goes), summary.json, junit.xml, report.txt, report.md, report.html, uart.log and kernel.log. The folder's path is printed first, then a line per interval, link failure and recovery (not with --quiet; on a terminal the interval lines are one status line updated in place); --out/latest points at the newest one. With --metrics FILE the live figures are also written to FILE for node_exporter's textfile collector. --resume RUN_DIR goes on with a run that stopped before its end.

        Profile keys (see README.md): name, seed, report_interval, timeline_sync, link {hang_timeout, loss_timeout, drain_timeout, open_timeout}, defaults, phases [{name, duration, rate, size, burst {count, every}, window, payload}], criteria {lost, corrupted, duplicated, out_of_order, hangs, latency_p99, latency_max, min_echoed, stray_bytes, min_rate_ratio}, rules, silence, heartbeat {pattern, within}, recovery {ladder [reopen, remoteproc-restart, power-cycle], max_recoveries, max_consecutive_failures, probe_timeout, off_time, boot_timeout}, gate {latency_p50, latency_p99, latency_max, latency_floor, messages_per_second, failure_rate, message_errors, new_findings}. Board keys: link, uart, kernel_log, power, remoteproc, simulator, labgrid. Durations need a unit: 500ms, 30s, 5m, 12h.

        With --baseline the run is then judged against the baseline as `rpmsg-soak compare` does, with the profile's gate: block (or the defaults): a regression makes a run that passed exit 1.

        Exit status: 0 passed, 1 failed its criteria (or regressed against --baseline), 2 usage or configuration error, 3 infrastructure error, 130 interrupted (reports still written).
        """)

    @OptionGroup var config: ConfigOptions

    @Option(name: .long, help: "Where run folders go (default reports): a new folder per run, named from the profile name and the start time, and --out/latest pointing at it.")
    var out: String?

    @Option(name: .long, help: "The run folder itself, a fixed path CI artifact collectors can name (instead of a new folder under --out): it must not exist or be empty. --out/latest is not touched.")
    var runDir: String?

    @Flag(name: .long, help: "Print only the verdict line and the run folder.")
    var quiet = false

    @Flag(name: .long, help: "Also print the tester's own cost after the verdict, with --quiet too: user and system CPU seconds, the share of one CPU, context switches and peak RSS (getrusage). It is recorded always, in the run_end event, summary.json (tester_cost) and the reports.")
    var selfStats = false

    @Flag(name: .long, help: "Inside a LAVA test action: after the reports, report every JUnit test case and the measurements (latency-p99, messages-per-second, mtbf) through lava-test-case.")
    var lava = false

    @Option(name: .long, help: "For a board file with a labgrid: block: reserve a place with these tags (KEY=VALUE, space- or comma-separated, e.g. 'board=imx8mp') and wait for it, instead of the board file's place.")
    var reserve: String?

    @Option(name: .long, help: "How long --reserve waits for a place (default 1h).")
    var reserveTimeout: String = "1h"

    @Option(name: .long, help: "Go on with the run in this run folder, which stopped before its end (killed, crashed, interrupted, the machine rebooted): the same profile and board as it used, the phase and counts where it stopped; the gap is marked on the timeline and in the reports. No profile argument.")
    var resume: String?

    @Option(name: .long, help: "Write the run's live figures (messages, latency, link failures, recoveries, findings, state) to this file every report interval and at the end, replaced atomically: for node_exporter's textfile collector (name it *.prom in its directory). The metrics are listed in README.md (While it runs).")
    var metrics: String?

    @Option(name: .long, help: "The --metrics file's format: prometheus (the text format 0.0.4 the textfile collector reads) or openmetrics (OpenMetrics 1.0).")
    var metricsFormat: String = "prometheus"

    @Option(name: .long, help: "After the reports, judge the run against this baseline (a run folder or a summary.json) with the profile's gate: block: compare.json and compare.md in the run folder, the gate's cases in junit.xml, exit 1 on a regression.")
    var baseline: String?

    func validate() throws {
        if out != nil && runDir != nil {
            throw ValidationError("--out and --run-dir: give one (--run-dir is the run folder itself; --out a folder for new run folders)")
        }
        if runDir?.isEmpty == true || out?.isEmpty == true {
            throw ValidationError("--out and --run-dir need a path")
        }
        if MetricsText.Format(rawValue: metricsFormat) == nil {
            throw ValidationError("--metrics-format: expected prometheus or openmetrics, found '\(metricsFormat)'")
        }
        if let m = metrics {
            // A directory that is not there is a typo: said before the board is touched.
            let dir = (m as NSString).deletingLastPathComponent
            var isDir: ObjCBool = false
            if m.isEmpty || m.hasSuffix("/") || !FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDir) || !isDir.boolValue {
                throw ValidationError("--metrics: expected a file in an existing directory, found '\(m)'")
            }
            if FileManager.default.fileExists(atPath: m, isDirectory: &isDir), isDir.boolValue {
                throw ValidationError("--metrics: '\(m)' is a directory; name a file in it (node_exporter's textfile collector reads *.prom)")
            }
        }
        if SoakDuration.parse(reserveTimeout, requireUnit: true) == nil {
            throw ValidationError("--reserve-timeout: expected a duration with a unit such as 30m, found '\(reserveTimeout)'")
        }
        if let r = reserve {
            let tags = r.split(whereSeparator: { $0 == "," || $0 == " " })
            if tags.isEmpty || tags.contains(where: { !$0.contains("=") || $0.hasPrefix("=") || $0.hasPrefix("-") }) {
                throw ValidationError("--reserve: expected tags as KEY=VALUE (e.g. 'board=imx8mp'), found '\(r)'")
            }
        }
    }

    func run() throws {
        // First of all: a SIGTERM while the profile is read still ends in a run folder and exit 130.
        installStopHandlers()
        if let resume { return try resumeRun(resume) }
        var plan = try Loading.load(config)
        // What check would warn about the load: said before the run, which then judges it (min_rate_ratio).
        for w in OfferedLoad.problems(plan.profile, board: plan.board, roundTrip: nil).warnings { Warnings.write(w) }
        // Read before the board is touched: a baseline that cannot be read is a usage error.
        var baselineRun: CompareInput?
        if let baseline {
            do { baselineRun = try CompareFolders.read(baseline) } catch {
                FileHandle.standardError.write(Data("rpmsg-soak: --baseline: \(ErrorText.describe(error))\n".utf8))
                throw ExitCode(2)
            }
        }
        if let r = reserve {
            guard plan.board.labgrid != nil else {
                FileHandle.standardError.write(Data("rpmsg-soak: --reserve needs a board file with a labgrid: block (the coordinator); \(plan.boardPath) has none\n".utf8))
                throw ExitCode(2)
            }
            plan.reserve = Plan.Reservation(tags: r.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init),
                                            timeout: SoakDuration.parse(reserveTimeout, requireUnit: true) ?? .seconds(3600))
        }
        var session = SoakSession(plan: plan, outDirectory: out ?? "reports", quiet: quiet, lava: lava, baseline: baselineRun,
                                  metrics: metrics.map { LiveOutput.Metrics(path: $0, format: MetricsText.Format(rawValue: metricsFormat) ?? .prometheus) },
                                  selfStats: selfStats)
        session.runDirectory = runDir
        let code = session.run()
        throw ExitCode(code)
    }

    /// `--resume DIR`: the run's own profile and board, from its timeline.
    private func resumeRun(_ folder: String) throws {
        func usage(_ text: String) -> ExitCode {
            FileHandle.standardError.write(Data("rpmsg-soak: --resume \(folder): \(text)\n".utf8))
            return ExitCode(2)
        }
        if config.profile != nil || config.board != nil || config.seed != nil || reserve != nil {
            throw usage("a resumed run uses the profile, board and seed it started with: give no profile, --board, --seed or --reserve")
        }
        // One pass over the timeline, line by line: where the run stopped and its live figures.
        let point: ResumePoint
        let seen: ProgressLine
        do {
            (point, seen) = try ResumeFold.read(path: "\(folder)/\(RunFolder.timelineName)")
        } catch {
            throw usage("\(error)")
        }
        let plan = Plan(profile: point.info.profile, board: point.info.board, profilePath: point.info.profilePath,
                        boardPath: point.info.boardPath)
        var baselineRun: CompareInput?
        if let baseline {
            do { baselineRun = try CompareFolders.read(baseline) } catch { throw usage("--baseline: \(error)") }
        }
        if runDir != nil || out != nil { throw usage("a resumed run goes on in its own folder: give no --out or --run-dir") }
        var session = SoakSession(plan: plan, outDirectory: "reports", quiet: quiet, lava: lava, baseline: baselineRun,
                                  metrics: metrics.map { LiveOutput.Metrics(path: $0, format: MetricsText.Format(rawValue: metricsFormat) ?? .prometheus) },
                                  selfStats: selfStats)
        session.resume = (folder, point, seen)
        throw ExitCode(session.run())
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a profile and board file; for a board over ssh, also look at it (no traffic is sent).",
        discussion: """
        A board reached over ssh is connected to (within 15 s) and checked: ssh answers, the tty exists and is a character device, the kernel log can be read, remoteproc's state. --offline skips this.

        Exit status: 0 valid (and everything found on an ssh board), 2 configuration error, 3 the board cannot be reached or a part is missing.
        """)

    @OptionGroup var config: ConfigOptions

    @Flag(name: .long, help: "Do not connect to a board reached over ssh; only validate the files.")
    var offline = false

    @Flag(name: .long, help: "A part the board file names that is not on this machine (GPIO chip or line, a device by path, glob or udev match), or a phase whose rate its window or board cannot carry, is an error (exit 3), not a warning: for CI.")
    var strict = false

    @Option(name: .long, help: "A round trip measured on this board (for example a previous run's p50, 2ms): each phase's rate is checked against what its window carries at it (Little's law).")
    var roundTrip: String?

    func validate() throws {
        if let r = roundTrip, SoakDuration.parse(r, requireUnit: true) == nil {
            throw ValidationError("--round-trip: expected a duration with a unit such as 2ms, found '\(r)'")
        }
    }

    func run() throws {
        let plan = try Loading.load(config)
        print(plan.describe())
        let folderName = RunFolder.safeName(plan.profile.name)
        if folderName != plan.profile.name {
            print("warning: the profile name '\(plan.profile.name)' is not a safe folder name: run folders will be named '\(folderName)-<start time>' (letters, digits, '-', '_' and '.' only)")
        }
        // Whether each phase's window (and the board) can carry the rate it asks for.
        let rtt = roundTrip.flatMap { SoakDuration.parse($0, requireUnit: true) }.map { Double($0.nanoseconds) / 1e9 }
        let load = OfferedLoad.problems(plan.profile, board: plan.board, roundTrip: rtt)
        for w in load.warnings { print("warning: \(w)") }
        for n in load.notes { print("note: \(n)") }
        if strict && !load.warnings.isEmpty {
            FileHandle.standardError.write(Data("rpmsg-soak check: a phase asks for a rate its window or board cannot carry (see above; --strict)\n".utf8))
            throw ExitCode(3)
        }
        let parts = BoardParts(board: plan.board)
        // What the board file names on this machine, looked at without changing anything.
        let looks = parts.lookAtLocalParts()
        for look in looks {
            print(look.found ? "found: \(look.line)" : "warning: \(look.line)")
        }
        if strict && looks.contains(where: { !$0.found }) {
            FileHandle.standardError.write(Data("rpmsg-soak check: a part the board file names is not on this machine (see above; --strict)\n".utf8))
            throw ExitCode(3)
        }
        print("ok: \(plan.profilePath) and \(plan.boardPath) are valid")
        // LAVA's commands come from the environment of the test action: which are there.
        for line in parts.lava.report(for: plan.board) { print("lava: \(line)") }
        let missing = parts.environmentProblems()
        for problem in missing { print("missing: \(problem)") }
        if !missing.isEmpty && !offline {
            FileHandle.standardError.write(Data("rpmsg-soak check: the environment lacks what the board file takes from it (see above; --offline checks the files only)\n".utf8))
            throw ExitCode(3)
        }
        guard !offline else { return }
        fflush(nil)
        var probed = parts
        if let lab = plan.board.labgrid {
            // The place is acquired for the look (unless this user holds it) and released after.
            let (resolved, found) = checkPlace(lab, board: plan.board)
            guard let resolved else { throw ExitCode(3) }
            defer { if let what = resolved.place?.release() { print(what) } }
            probed = resolved
            if !found { throw ExitCode(3) }
        }
        if probed.probeOverSsh(connectTimeout: .seconds(15), report: { print($0.line); fflush(nil) }) == false {
            FileHandle.standardError.write(Data("rpmsg-soak check: the board \(plan.board.link.location) is not ready (see above)\n".utf8))
            throw ExitCode(3)
        }
    }
}

extension Check {
    /// Acquires the board file's labgrid place, prints its resources and what the board file
    /// needs of them; the parts on the resolved board (nil when the place cannot be had), and
    /// whether every resource needed was found.
    func checkPlace(_ config: LabgridConfig, board: BoardConfig) -> (BoardParts?, Bool) {
        func fail(_ text: String) { print(text); fflush(nil) }
        let place: LabgridPlace
        do {
            place = try LabgridPlace(config: config)
            print("labgrid: \(try place.acquire())")
        } catch {
            fail("\(ErrorText.describe(error))")
            return (nil, false)
        }
        let resources: [LabgridPlace.Resource]
        do { resources = try place.resources() } catch {
            fail("\(ErrorText.describe(error))")
            _ = place.release()
            return (nil, false)
        }
        for r in resources {
            let params = r.params.keys.sorted().filter { ["address", "port", "username", "host", "model", "index"].contains($0) }
                .map { "\($0) \(r.params[$0] ?? "")" }.joined(separator: ", ")
            print("labgrid: found \(r.cls) \(r.name)\(params.isEmpty ? "" : " (\(params))")")
        }
        do {
            let resolved = try place.resolve(board)
            return (BoardParts(board: resolved, place: place), true)
        } catch {
            fail("\(ErrorText.describe(error))")
            return (BoardParts(board: board, place: place), false)
        }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild every report of a run folder from its timeline (after a crash, or after an upgrade).")

    @Argument(help: "The run folder (holds events.jsonl).")
    var runDirectory: String

    func run() throws {
        do {
            let summary = try RunFolder.writeReports(directory: runDirectory)
            print(TextReport.render(summary))
            print("reports written to \(runDirectory)")
            // `report` itself was not interrupted: a cut-off run is simply not a pass.
            throw ExitCode(summary.verdict == .interrupted ? 1 : summary.verdict.exitCode)
        } catch let e as ExitCode {
            throw e
        } catch {
            if let e = error as? RunFolder.FilesNotWritten {
                for line in e.problems { FileHandle.standardError.write(Data("rpmsg-soak report: \(line)\n".utf8)) }
                throw ExitCode(3)
            }
            FileHandle.standardError.write(Data("rpmsg-soak report: \(ErrorText.reason(error))\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// A validated profile and board, ready to run.
struct Plan {
    var profile: Profile
    var board: BoardConfig
    var profilePath: String
    var boardPath: String
    /// `run --reserve`: the labgrid place is reserved by tags rather than named.
    var reserve: Reservation?

    struct Reservation {
        var tags: [String]
        var timeout: SoakDuration
    }

    func describe() -> String {
        var lines = ["profile \(profile.name) (\(profilePath)), seed \(profile.seed), \(profile.totalDuration) in \(profile.phases.count) phase(s)"]
        for p in profile.phases {
            let burst = p.burst.map { ", bursts of \($0.count) every \($0.every)" } ?? ""
            lines.append("  \(p.name): \(p.duration), rate \(p.rate), size \(p.size), window \(p.window), \(p.payload.rawValue)\(burst)")
        }
        let example = profile.phases.map { OfferedLoad.meanFrame($0) }.first ?? 128
        lines.append("  size is the whole frame: \(FrameCodec.minFrameSize) bytes of header and check, the rest payload (a \(example)-byte frame carries \(example - FrameCodec.minFrameSize) payload bytes)")
        lines.append("board \(board.name) (\(boardPath)): link \(board.link.location)")
        if let lab = board.labgrid {
            lines.append("  labgrid: place \(lab.place ?? "from LG_PLACE") at \(lab.coordinator ?? "LG_COORDINATOR (else labgrid's default)"), through \(lab.client)")
        }
        if let u = board.uart {
            let speed: String
            if case .command = u.location { speed = "" } else { speed = " at \(u.baud) baud" }
            lines.append("  uart: \(u.location)\(speed)" + (u.ready.map { ", ready when a line matches /\($0)/ (within \(u.readyTimeout))" } ?? ""))
        }
        if let k = board.kernelLog {
            var path = ""
            switch k {
            case .file(let p), .ssh(let p): path = " \(p)"
            case .kmsg, .simulated, .unwatched: break
            }
            if case .ssh = k, case .ssh(let target) = board.link.location { path += " on \(target.destination)" }
            lines.append("  kernel log: \(k.source.rawValue)\(path)")
        }
        if let p = board.power { lines.append("  power: \(p.summary)") }
        if let r = board.remoteproc {
            var on = ""
            if case .ssh(let target) = board.link.location { on = " on \(target.destination) (over ssh)" }
            lines.append("  remoteproc: \(r.path)\(on)\(r.firmware.map { ", firmware \($0)" } ?? "")")
        }
        if let policy = profile.recovery {
            lines.append("recovery: " + policy.ladder.map(\.rawValue).joined(separator: " -> ")
                         + ", at most \(policy.maxRecoveries) recoveries, \(policy.maxConsecutiveFailures) failed ladders in a row")
            for step in policy.ladder {
                if let why = board.cannotDo(step) { lines.append("  note: \(step.rawValue) will be skipped: \(why)") }
            }
            if policy.ladder.allSatisfy({ board.cannotDo($0) != nil || $0 == .reopen }) {
                lines.append("  note: only reopen is possible on this board, and reopening never clears a mailbox kick timeout")
            }
        } else {
            lines.append("recovery: none (a link failure ends the run)")
        }
        return lines.joined(separator: "\n")
    }
}

enum Loading {
    static func load(_ options: ConfigOptions) throws -> Plan {
        guard let profilePath = options.profile else {
            FileHandle.standardError.write(Data("rpmsg-soak: a profile is needed, for example: rpmsg-soak run profiles/smoke.yaml\n".utf8))
            throw ExitCode(2)
        }
        do {
            var profile = try ConfigLoader.loadProfile(path: profilePath)
            if let seed = options.seed { profile.seed = seed }
            let board: BoardConfig
            let boardPath: String
            if let path = options.board {
                board = try ConfigLoader.loadBoard(path: path)
                boardPath = path
            } else {
                board = BoardConfig.builtInSimulator
                boardPath = "built-in simulator"
            }
            return Plan(profile: profile, board: board, profilePath: profilePath, boardPath: boardPath)
        } catch {
            FileHandle.standardError.write(Data("rpmsg-soak: configuration error: \(ErrorText.describe(error))\n".utf8))
            throw ExitCode(2)
        }
    }
}
