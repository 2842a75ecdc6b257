import ArgumentParser
import Foundation
import SoakCore
import SoakReports

/// The gate's tolerances on the command line, over the profile's `gate:` block.
struct GateOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Largest allowed increase of the median latency, e.g. +25%, or off (default off).")
    var latencyP50: String?
    @Option(name: .long, parsing: .unconditional, help: "Largest allowed increase of the 99th percentile latency (default +20%).")
    var latencyP99: String?
    @Option(name: .long, parsing: .unconditional, help: "Largest allowed increase of the largest latency (default +100%).")
    var latencyMax: String?
    @Option(name: .long, parsing: .unconditional, help: "Latency changes up to this never fail, e.g. 200us (default 100us).")
    var latencyFloor: String?
    @Option(name: .long, parsing: .unconditional, help: "Largest allowed drop of messages/s, e.g. -10% (the default), or off.")
    var messagesPerSecond: String?
    @Option(name: .long, parsing: .unconditional, help: "Link failures per hour of uptime: significance of the exact test, e.g. p<0.05 (the default), or off.")
    var failureRate: String?
    @Option(name: .long, parsing: .unconditional, help: "Lost, corrupted, duplicated and out-of-order messages per message sent: p<0.05 (the default), or off.")
    var messageErrors: String?
    @Option(name: .long, help: "A finding class the baseline did not have: fail (the default), warn or off.")
    var newFindings: String?

    /// `gate` with every flag given applied; a bad value throws the flag's name and why.
    func apply(to gate: GateConfig) throws(GateValueError) -> GateConfig {
        var g = gate
        let given: [(String, String?)] = [("latency_p50", latencyP50), ("latency_p99", latencyP99), ("latency_max", latencyMax),
                                          ("latency_floor", latencyFloor), ("messages_per_second", messagesPerSecond),
                                          ("failure_rate", failureRate), ("message_errors", messageErrors), ("new_findings", newFindings)]
        for (key, value) in given {
            guard let value else { continue }
            do { try g.set(key, value) } catch {
                throw GateValueError("--\(key.replacingOccurrences(of: "_", with: "-")): \(error.message)")
            }
        }
        return g
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Judge a run against a baseline run: latency, throughput, failure rates and new findings, per phase and overall.",
        discussion: """
        BASELINE and CURRENT are each a run folder (its summary rebuilt from events.jsonl, as `rpmsg-soak report` does) or a summary.json. Phases are matched by name.

        The gate: the current run's profile's gate: block (from its timeline), or --profile's, else the defaults; each flag overrides one key. Latency (p50, p99, max) fails when it grew by more than its tolerance and by more than --latency-floor; messages/s when it dropped by more than its tolerance; failure_rate (link failures per hour of uptime) and message_errors (lost + corrupted + duplicated + out of order per message) by a one-sided exact test of two Poisson rates (conditional binomial) at the given level; new_findings when the current run has a finding class the baseline has not.

        Prints a table of every metric (baseline, current, change, limit, verdict). With --out DIR: compare.json (schema rpmsg-soak/compare/1), compare.md and junit.xml (test suite rpmsg-soak.gate, cases gate.latency_p99, gate.messages_per_second, gate.failure_rate, gate.new_findings, gate.phase.<phase>.latency_p99, ...).

        Exit status: 0 no regression, 1 regression, 2 usage or configuration error (an unreadable input is named).
        """)

    @Argument(help: "The baseline: a run folder or a summary.json.")
    var baseline: String

    @Argument(help: "The run to judge: a run folder or a summary.json.")
    var current: String

    @Option(name: .long, help: "Take the gate: block from this profile instead of the current run's.")
    var profile: String?

    @Option(name: .long, help: "Write compare.json, compare.md and junit.xml here (created if needed).")
    var out: String?

    @OptionGroup var gateOptions: GateOptions

    func run() throws {
        let comparison: Comparison
        do {
            let b = try CompareFolders.read(baseline)
            let c = try CompareFolders.read(current)
            var gate = c.gate ?? .default
            if let profile { gate = try ConfigLoader.loadGate(profilePath: profile) }
            gate = try gateOptions.apply(to: gate)
            comparison = Comparison.build(baseline: b.summary, baselinePath: b.path, current: c.summary, currentPath: c.path, gate: gate)
            if let out { try CompareFolders.writeReports(comparison, directory: out, junit: true) }
        } catch {
            FileHandle.standardError.write(Data("rpmsg-soak compare: \(ErrorText.describe(error))\n".utf8))
            throw ExitCode(2)
        }
        print(CompareText.render(comparison))
        if let out { print("comparison written to \(out)") }
        throw ExitCode(comparison.exitCode)
    }
}
