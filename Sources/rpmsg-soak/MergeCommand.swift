import ArgumentParser
import Foundation
import SoakCore
import SoakReports

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge many boards' run folders into one fleet report, with the MTBF pooled over the boards.",
        discussion: """
        Each RUN_DIR is a run folder (it holds events.jsonl), a folder of run folders (reports/), or a glob the shell did not expand ('reports/*'). A symlink to a run already taken (reports/latest) is skipped: a run counts once. Each run's summary is rebuilt from its timeline, as `rpmsg-soak report` does, so crashed runs count as incomplete.

        Writes into --out: summary.json (schema rpmsg-soak/fleet/1), junit.xml (one test suite per run, named after its board, plus the run folder when a board ran twice), report.md and report.html. The run folders are only read.

        Pooled MTBF: the uptime of all runs over their failures, with the exact 95% interval of those sums (each run's last, failure-free cycle counted as censored). Boards that share one MTBF give a narrower interval together than each alone.

        Runs of different profiles are refused unless --mixed; then each profile is a group with its own pooled figures.

        Fleet verdict and exit status: 0 passed (every run passed); 1 failed (at least one run failed its criteria or its link; this wins over runs without a verdict); 2 usage error (no run folder found, an unreadable timeline, profiles differ without --mixed); 3 error: no run failed, but at least one ended in error, incomplete (the tester crashed) or interrupted, so the fleet has no complete answer.
        """)

    @Argument(help: "Run folders, folders of run folders, or globs.")
    var runDirectories: [String] = []

    @Option(name: .long, help: "Where the fleet's reports go (created if needed).")
    var out: String

    @Flag(name: .long, help: "Accept runs of different profiles: report and pool them grouped by profile.")
    var mixed = false

    func run() throws {
        let fleet: FleetSummary
        do {
            guard !runDirectories.isEmpty else { throw FleetError("give at least one run folder (or a folder of run folders)") }
            let runs = try FleetFolders.read(try FleetFolders.find(runDirectories))
            fleet = try FleetFolders.writeReports(runs, mixed: mixed, directory: out)
        } catch {
            FileHandle.standardError.write(Data("rpmsg-soak merge: \(ErrorText.describe(error))\n".utf8))
            throw ExitCode(2)
        }
        print(FleetText.terminal(fleet))
        print("fleet reports written to \(out)")
        throw ExitCode(fleet.verdict.exitCode)
    }
}
