import Foundation
import Testing
@testable import SoakCore
@testable import SoakReports

/// The live figures (console, status line, `--metrics`), folded from the timeline events.
struct LiveFiguresTests {
    static let recoveringProfile = Fixture.profileText + """

    recovery:
      ladder: [reopen, power-cycle]
    """

    /// The fixture run with a hang at 14 s, a reopen that did not help, a power cycle that
    /// brought the link back at 16 s, and a kick-timeout finding.
    static func events(end: Bool = true) -> [Event] {
        var events = Fixture.run(end: end ? Fixture.runEnd(20, .completed, totals: Fixture.finalTotals) : nil)
        events[0] = Fixture.runStart(profile: Fixture.profile(recoveringProfile))
        var finding = Fixture.event(13.9, .finding, "mailbox-kick-timeout")
        finding.finding = Finding(rule: "imx-rproc-kick-failed", findingClass: "mailbox-kick-timeout", severity: .fatal, action: .recover,
                                  source: .kernel, explanation: "-62 is -ETIME", line: "imx_rproc_kick: failed (1, err:-62)", details: nil)
        var hang = Fixture.event(14, .hang, "no echo for 3s")
        hang.failure = LinkFailure(kind: .hang, reason: "no echo for 3s", outstanding: 4, lostBeforeFailure: 0, lastSeqSent: 1_500,
                                   sinceLastEcho: 3, messagesSinceStart: 1_500, evidence: nil)
        var failedStep = Fixture.event(14.5, .recovery, "reopen: did not help")
        failedStep.recovery = RecoveryRecord(step: .reopen, outcome: .failed, seconds: 0.4, detail: "probe not echoed")
        var recovered = Fixture.event(16, .recovery, "power-cycle: link back")
        recovered.recovery = RecoveryRecord(step: .powerCycle, outcome: .succeeded, seconds: 1.5, detail: "probe echoed")
        events.insert(contentsOf: [finding, hang, failedStep, recovered], at: 5)
        return events
    }

    @Test func theStateFollowsTheRunThroughAFailureAndItsRecovery() {
        var f = LiveFigures()
        var states: [LiveFigures.State] = []
        for e in Self.events() {
            f.add(e)
            states.append(f.state)
        }
        // run_start, warmup, interval, steady, anomaly, finding, hang, reopen failed, power cycle, interval, run_end
        #expect(states == [.starting, .running, .running, .running, .running, .running, .recovering, .recovering, .running, .running, .completed])
        #expect(f.failures == [.hang: 1])
        #expect(f.recovered == 1)
        #expect(f.recoveries[.reopen]?[.failed] == 1)
        #expect(f.findings == ["mailbox-kick-timeout": 1])
        // Down from 14 s to 16 s of 20.
        #expect(abs(f.linkUpSeconds - 18) < 1e-9)
        #expect(f.plannedSeconds == 20 && f.remaining == 0)
        #expect(f.startTime == 1_750_000_000)
        #expect(f.phase == "steady" && f.phaseIndex == 1)
        #expect(f.phaseTotals.sent == 2_000)
        #expect(f.rate == 200)
        #expect(f.interval == LiveFigures.Latency(p50: 500, p99: 9_007, max: 9_007))
        #expect(f.run?.p50 == 500)
    }

    /// The runner closes an interval at each phase boundary: a snapshot of a few milliseconds
    /// with no echo must not show the dashboards a rate of 0 and no latency for a whole interval.
    @Test func theSliverOfAnIntervalAtAPhaseBoundaryKeepsTheLastRateButGetsItsOwnConsoleLine() {
        var events = Array(Self.events(end: false).prefix(4))
        var sliver = Fixture.interval(10.004, phase: "steady", totals: Fixture.firstTotals, latency: [])
        sliver.interval?.seconds = 0.004
        events.append(sliver)
        var progress = ProgressLine()
        var lines: [String] = []
        for e in events { if let l = progress.line(for: e) { lines.append(l) } }
        let f = progress.figures
        #expect(f.rate == 100 && f.interval?.p99 == 600)
        #expect(f.snapshotRate == 0 && f.snapshotLatency == nil)
        #expect(lines.last == "[0:00:10] steady: sent 0, echoed 0 in this phase (100/s), p99 -")
        #expect(MetricsText.render(f, format: .prometheus).contains("rpmsg_soak_echo_rate{profile=\"smoke\",board=\"sim\"} 100\n"))
    }

    @Test func eachSnapshotsRoundTripIsItsOwnAndTheRunsIsEverySnapshots() {
        // The snapshot figures come from one scratch histogram reused: the second snapshot must
        // not carry the first one's round trips (its max), the run's must hold both.
        var f = LiveFigures()
        f.add(Fixture.runStart(profile: Fixture.profile(Fixture.profileText)))
        f.add(Fixture.interval(5, phase: "steady", totals: Fixture.firstTotals, latency: [(900, 10), (5_000, 1)]))
        #expect(f.snapshotLatency == LiveFigures.Latency(p50: 900, p99: 5_003, max: 5_003))
        var second = Fixture.interval(10, phase: "steady", totals: Fixture.firstTotals, latency: [(100, 10)])
        second.interval?.networkRoundTripMicros = [[300, 2]]
        f.add(second)
        #expect(f.snapshotLatency == LiveFigures.Latency(p50: 100, p99: 100, max: 100))
        #expect(f.networkMax == 300)
        #expect(f.run?.max == 5_003 && f.run?.p50 == 900)
        // A copy keeps its own figures when the original goes on.
        let before = f
        f.add(Fixture.interval(15, phase: "steady", totals: Fixture.firstTotals, latency: [(20_000, 30)]))
        #expect(before.run?.max == 5_003 && f.run?.max == 20_015)
        #expect(before.snapshotLatency?.max == 100)
    }

    @Test func aFailureWithoutRecoveryFailsTheRun() {
        // Up to the hang; the fixture's profile has no recovery block.
        var f = LiveFigures(events: Array(HtmlReportTests.failingRun().prefix(7)))
        #expect(f.state == .failed)
        f.add(Fixture.runEnd(15, .linkFailed, totals: Fixture.firstTotals))
        #expect(f.state == .failed)
    }

    /// The names, labels, HELP and TYPE lines a lab's dashboards and alerts are built on: a
    /// change here breaks them, so it must be deliberate (and the README's table changed with it).
    @Test func thePrometheusTextIsExactlyThis() {
        let f = LiveFigures(events: Self.events(end: false))
        #expect(MetricsText.render(f, format: .prometheus) == Self.expectedPrometheus)
    }

    @Test func theOpenMetricsTextNamesCounterAndInfoFamiliesWithoutTheirSuffixAndEndsWithEOF() {
        let f = LiveFigures(events: Self.events(end: false))
        let om = MetricsText.render(f, format: .openmetrics)
        #expect(om.hasSuffix("\n# EOF\n"))
        #expect(om.contains("# TYPE rpmsg_soak_messages_sent counter\nrpmsg_soak_messages_sent_total{profile=\"smoke\",board=\"sim\"} 3000\n"))
        #expect(om.contains("# TYPE rpmsg_soak_phase info\nrpmsg_soak_phase_info{profile=\"smoke\",board=\"sim\",phase=\"steady\",index=\"1\"} 1\n"))
        // The same samples in both formats: only the metadata lines differ.
        func samples(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.hasPrefix("#") } }
        #expect(samples(om) == samples(MetricsText.render(f, format: .prometheus)))
    }

    @Test func theEndAddsTheVerdictAndLabelValuesAreEscaped() throws {
        var events = Self.events()
        events[0].run?.profile.name = "night \"A\"\\b"
        var f = LiveFigures(events: events)
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = try SummaryBuilder.build(events: events, warnings: [])
        f.finish(summary)
        let text = MetricsText.render(f, format: .prometheus)
        #expect(text.contains("rpmsg_soak_verdict{profile=\"night \\\"A\\\"\\\\b\",board=\"sim\",verdict=\"\(summary.verdict.rawValue)\"} 1\n"))
        #expect(text.contains("state=\"completed\"} 1\n"))
    }

    @Test func numbersAreExact() {
        #expect(MetricsText.seconds(9_003) == "0.009003")
        #expect(MetricsText.seconds(2_000_000) == "2")
        #expect(MetricsText.seconds(1_500_010) == "1.50001")
        #expect(MetricsText.number(199.99999) == "200")
        #expect(MetricsText.number(0.25) == "0.25")
        #expect(MetricsText.number(-0.0001) == "0")
    }

    static let expectedPrometheus = """
    # HELP rpmsg_soak_messages_sent_total Messages sent to the M7.
    # TYPE rpmsg_soak_messages_sent_total counter
    rpmsg_soak_messages_sent_total{profile="smoke",board="sim"} 3000
    # HELP rpmsg_soak_messages_echoed_total Messages echoed back intact.
    # TYPE rpmsg_soak_messages_echoed_total counter
    rpmsg_soak_messages_echoed_total{profile="smoke",board="sim"} 3000
    # HELP rpmsg_soak_messages_lost_total Messages not echoed within link.loss_timeout.
    # TYPE rpmsg_soak_messages_lost_total counter
    rpmsg_soak_messages_lost_total{profile="smoke",board="sim"} 0
    # HELP rpmsg_soak_messages_corrupted_total Echoes whose bytes differ from what was sent.
    # TYPE rpmsg_soak_messages_corrupted_total counter
    rpmsg_soak_messages_corrupted_total{profile="smoke",board="sim"} 0
    # HELP rpmsg_soak_messages_duplicated_total Echoes received more than once.
    # TYPE rpmsg_soak_messages_duplicated_total counter
    rpmsg_soak_messages_duplicated_total{profile="smoke",board="sim"} 0
    # HELP rpmsg_soak_messages_out_of_order_total Echoes received after a later message's echo.
    # TYPE rpmsg_soak_messages_out_of_order_total counter
    rpmsg_soak_messages_out_of_order_total{profile="smoke",board="sim"} 1
    # HELP rpmsg_soak_messages_unanswered_total Messages in flight when the link failed: neither echoed nor lost.
    # TYPE rpmsg_soak_messages_unanswered_total counter
    rpmsg_soak_messages_unanswered_total{profile="smoke",board="sim"} 0
    # HELP rpmsg_soak_stray_bytes_total Bytes read from the link that belong to no frame.
    # TYPE rpmsg_soak_stray_bytes_total counter
    rpmsg_soak_stray_bytes_total{profile="smoke",board="sim"} 0
    # HELP rpmsg_soak_link_failures_total Link failures by kind: hang (no echo for link.hang_timeout), link_lost (the tty went away), finding (a rule with action recover).
    # TYPE rpmsg_soak_link_failures_total counter
    rpmsg_soak_link_failures_total{profile="smoke",board="sim",kind="hang"} 1
    rpmsg_soak_link_failures_total{profile="smoke",board="sim",kind="link_lost"} 0
    rpmsg_soak_link_failures_total{profile="smoke",board="sim",kind="finding"} 0
    # HELP rpmsg_soak_recoveries_total Recovery steps tried, by step and outcome (succeeded: the probe echoed and the link is back).
    # TYPE rpmsg_soak_recoveries_total counter
    rpmsg_soak_recoveries_total{profile="smoke",board="sim",step="reopen",outcome="succeeded"} 0
    rpmsg_soak_recoveries_total{profile="smoke",board="sim",step="reopen",outcome="failed"} 1
    rpmsg_soak_recoveries_total{profile="smoke",board="sim",step="reopen",outcome="skipped"} 0
    rpmsg_soak_recoveries_total{profile="smoke",board="sim",step="remoteproc-restart",outcome="succeeded"} 0
    rpmsg_soak_recoveries_total{profile="smoke",board="sim",step="remoteproc-restart",outcome="failed"} 0
    rpmsg_soak_recoveries_total{profile="smoke",board="sim",step="remoteproc-restart",outcome="skipped"} 0
    rpmsg_soak_recoveries_total{profile="smoke",board="sim",step="power-cycle",outcome="succeeded"} 1
    rpmsg_soak_recoveries_total{profile="smoke",board="sim",step="power-cycle",outcome="failed"} 0
    rpmsg_soak_recoveries_total{profile="smoke",board="sim",step="power-cycle",outcome="skipped"} 0
    # HELP rpmsg_soak_findings_total What the rules found on the M7 UART and in the kernel log, by finding class.
    # TYPE rpmsg_soak_findings_total counter
    rpmsg_soak_findings_total{profile="smoke",board="sim",class="mailbox-kick-timeout"} 1
    # HELP rpmsg_soak_latency_p50_seconds Round-trip latency, median, of the last report interval (scope=interval) and of the whole run (scope=run); absent before an echo.
    # TYPE rpmsg_soak_latency_p50_seconds gauge
    rpmsg_soak_latency_p50_seconds{profile="smoke",board="sim",scope="interval"} 0.0005
    rpmsg_soak_latency_p50_seconds{profile="smoke",board="sim",scope="run"} 0.0005
    # HELP rpmsg_soak_latency_p99_seconds Round-trip latency, 99th percentile, of the last report interval (scope=interval) and of the whole run (scope=run); absent before an echo.
    # TYPE rpmsg_soak_latency_p99_seconds gauge
    rpmsg_soak_latency_p99_seconds{profile="smoke",board="sim",scope="interval"} 0.009007
    rpmsg_soak_latency_p99_seconds{profile="smoke",board="sim",scope="run"} 0.009007
    # HELP rpmsg_soak_latency_max_seconds Round-trip latency, maximum, of the last report interval (scope=interval) and of the whole run (scope=run); absent before an echo.
    # TYPE rpmsg_soak_latency_max_seconds gauge
    rpmsg_soak_latency_max_seconds{profile="smoke",board="sim",scope="interval"} 0.009007
    rpmsg_soak_latency_max_seconds{profile="smoke",board="sim",scope="run"} 0.009007
    # HELP rpmsg_soak_echo_rate Messages echoed per second in the last report interval.
    # TYPE rpmsg_soak_echo_rate gauge
    rpmsg_soak_echo_rate{profile="smoke",board="sim"} 200
    # HELP rpmsg_soak_messages_in_flight Messages sent and not yet echoed, at the last report interval.
    # TYPE rpmsg_soak_messages_in_flight gauge
    rpmsg_soak_messages_in_flight{profile="smoke",board="sim"} 0
    # HELP rpmsg_soak_state Where the run stands: 1 for the current state, 0 for the others.
    # TYPE rpmsg_soak_state gauge
    rpmsg_soak_state{profile="smoke",board="sim",state="starting"} 0
    rpmsg_soak_state{profile="smoke",board="sim",state="running"} 1
    rpmsg_soak_state{profile="smoke",board="sim",state="recovering"} 0
    rpmsg_soak_state{profile="smoke",board="sim",state="completed"} 0
    rpmsg_soak_state{profile="smoke",board="sim",state="failed"} 0
    rpmsg_soak_state{profile="smoke",board="sim",state="interrupted"} 0
    rpmsg_soak_state{profile="smoke",board="sim",state="error"} 0
    # HELP rpmsg_soak_verdict The run's verdict once its reports are written: 1 for it, 0 for the others; absent while it runs.
    # TYPE rpmsg_soak_verdict gauge
    # HELP rpmsg_soak_phase_info The phase the run is in (its name and its index in the profile).
    # TYPE rpmsg_soak_phase_info gauge
    rpmsg_soak_phase_info{profile="smoke",board="sim",phase="steady",index="1"} 1
    # HELP rpmsg_soak_elapsed_seconds Seconds since the run started.
    # TYPE rpmsg_soak_elapsed_seconds gauge
    rpmsg_soak_elapsed_seconds{profile="smoke",board="sim"} 20
    # HELP rpmsg_soak_remaining_seconds Seconds left of the profile's phases.
    # TYPE rpmsg_soak_remaining_seconds gauge
    rpmsg_soak_remaining_seconds{profile="smoke",board="sim"} 0
    # HELP rpmsg_soak_link_up_seconds Seconds the link was up: the run time less the time from each link failure to the link's return.
    # TYPE rpmsg_soak_link_up_seconds gauge
    rpmsg_soak_link_up_seconds{profile="smoke",board="sim"} 18
    # HELP rpmsg_soak_start_time_seconds When the run started, seconds since 1970 (UTC).
    # TYPE rpmsg_soak_start_time_seconds gauge
    rpmsg_soak_start_time_seconds{profile="smoke",board="sim"} 1750000000

    """
}

/// The terminal's status line: what it says, and that it never wraps.
struct StatusLineTests {
    @Test func theLineSaysWhereTheRunStands() {
        let f = LiveFigures(events: Array(LiveFiguresTests.events(end: false).prefix(3)))
        #expect(StatusLine.render(f, width: 200)
                == "0:00:10 of 0:00:20, 0:00:10 left | warmup | 100/s of 100/s | run: sent 1000, echoed 1000 | p99 600 us | link failures 0")
        // Between events the elapsed time moves on.
        #expect(StatusLine.render(f, elapsed: 12.5, width: 200).hasPrefix("0:00:12 of 0:00:20, 0:00:07 left | warmup |"))
    }

    @Test func theLongFormGivesTheRateThePhaseAsksForButNotForRateMax() {
        // warmup asks 100/s; steady is `rate: max`: nothing to fall short of.
        let warmup = LiveFigures(events: Array(LiveFiguresTests.events(end: false).prefix(3)))
        #expect(warmup.askedRate == 100)
        let steady = LiveFigures(events: LiveFiguresTests.events(end: false))
        #expect(steady.phase == "steady" && steady.askedRate == nil)
        #expect(StatusLine.render(steady, width: 200).contains("| steady | 200/s | run:"))
        #expect(StatusLine.rateText(50) == "50" && StatusLine.rateText(0.2) == "0.2"
                && StatusLine.rateText(2.5) == "2.5" && StatusLine.rateText(16.5) == "17" && StatusLine.rateText(1) == "1")
    }

    @Test func aRecoveringRunSaysSoWithItsFailuresAndBadCounts() {
        let f = LiveFigures(events: Array(LiveFiguresTests.events(end: false).prefix(7)))
        #expect(StatusLine.render(f, width: 200)
                == "0:00:14 of 0:00:20, 0:00:06 left | steady, RECOVERING | 100/s | run: sent 1000, echoed 1000 | p99 600 us | link failures 1, 0 recovered")
        let later = LiveFigures(events: LiveFiguresTests.events(end: false))
        #expect(StatusLine.render(later, width: 200).contains("| steady | 200/s | run: sent 3000, echoed 3000, out of order 1 | p99 9.007 ms | link failures 1, 1 recovered"))
    }

    @Test func onAnEightyColumnTerminalTheShorterFormKeepsEveryFigure() {
        let f = LiveFigures(events: Array(LiveFiguresTests.events(end: false).prefix(3)))
        #expect(StatusLine.render(f, width: 80) == "0:00:10 0:00:10 left warmup 100/s sent 1000 echoed 1000 p99 600 us failures 0")
        let failed = LiveFigures(events: Array(LiveFiguresTests.events(end: false).prefix(7)))
        #expect(StatusLine.render(failed, width: 100)
                == "0:00:14/0:00:20 steady, RECOVERING 100/s sent 1000 echoed 1000 p99 600 us failures 1, 0 recovered")
    }

    @Test func theLineStaysShorterThanTheTerminalAndHasNoControlCharacters() {
        var events = Array(LiveFiguresTests.events(end: false).prefix(3))
        events[1].phase?.name = "warm\u{1B}[2Jup"
        let f = LiveFigures(events: events)
        let line = StatusLine.render(f, width: 40)
        #expect(line.count == 39)
        #expect(line.hasSuffix("…"))
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 })
    }
}
