import Foundation
import Testing
@testable import SoakCore

/// The built-in rule pack against a corpus of real-world kernel and UART lines (DOMAIN.md and
/// the public reports it cites), each with the class and severity it must give; noise gives none.
struct RulesTests {
    static let rules = try! RuleSet(BuiltInRules.all)

    static func line(_ source: SourceLine.Source, _ text: String) -> SourceLine { SourceLine(source: source, at: 1, text: text) }

    static let corpus: [(SourceLine.Source, String, String?, Rule.Severity?)] = [
        (.kernel, "imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)", "mailbox-kick-timeout", .fatal),
        (.kernel, "[  812.402211] imx-rproc imx8mp-cm7: imx_rproc_kick: failed (0, err:-62)", "mailbox-kick-timeout", .fatal),
        (.kernel, "virtio_rpmsg_bus virtio0: timeout waiting for a tx buffer", "tx-buffer-timeout", .error),
        (.kernel, "imx_rpmsg_tty virtio0.rpmsg-virtual-tty-channel-1.-1.30: rpmsg_send failed: -110", "rpmsg-send-failed", .error),
        (.kernel, "imx_rpmsg_tty virtio0.rpmsg-virtual-tty-channel-1.-1.30: message is too big", "message-too-big", .error),
        (.kernel, "imx_rpmsg_tty virtio0.rpmsg-virtual-tty-channel-1.-1.30: No memory for tty_prepare_flip_string", "tty-no-memory", .error),
        (.kernel, "imx_rpmsg_tty virtio0.rpmsg-virtual-tty-channel-1.-1.30: rpmsg tty driver is removed", "tty-removed", .error),
        (.kernel, "remoteproc remoteproc0: crash detected in imx-rproc: type watchdog", "remoteproc-crash", .fatal),
        (.kernel, "remoteproc remoteproc0: recovering imx-rproc", "remoteproc-recovery", .warning),
        (.uart, "ASSERT ERROR \" len < 512 \": file \"main_remote.c\" Line \"215\" function name \"app_task\"", "firmware-assert", .fatal),
        (.uart, "HardFault_Handler", "firmware-hardfault", .fatal),
        (.kernel, "Internal error: Oops: 96000004 [#1] PREEMPT SMP", "kernel-oops", .fatal),
        (.kernel, "BUG: scheduling while atomic: kworker/0:1/23/0x00000002", "kernel-bug", .fatal),
        (.kernel, "WARNING: CPU: 1 PID: 120 at drivers/mailbox/mailbox.c:283 mbox_send_message+0x110/0x120", "kernel-warning", .warning),
        (.kernel, "Kernel panic - not syncing: Oops: Fatal exception", "kernel-oops", .fatal),
        (.kernel, "INFO: task kworker/u8:2:75 blocked for more than 120 seconds.", "kernel-hung-task", .error),
        (.kernel, "watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [rpmsg-app:311]", "kernel-bug", .fatal),
        (.kernel, "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", "kernel-rcu-stall", .error),
        // Noise: lines a healthy board prints all day.
        (.uart, "Get Message From Master Side : \"hello world!\" [len : 12]", nil, nil),
        (.uart, "Nameservice sent, ready for incoming messages...", nil, nil),
        (.uart, "RPMSG Share Base Addr is 0x55000000", nil, nil),
        (.kernel, "imx_rpmsg_tty virtio0.rpmsg-virtual-tty-channel-1.-1.30: new channel: 0x400 -> 0x1e!", nil, nil),
        (.kernel, "remoteproc remoteproc0: remote processor imx-rproc is now up", nil, nil),
        (.kernel, "virtio_rpmsg_bus virtio0: rpmsg host is online", nil, nil),
        (.kernel, "usb 1-1: new high-speed USB device number 2 using ci_hdrc", nil, nil),
        (.kernel, "EXT4-fs (mmcblk2p2): mounted filesystem with ordered data mode", nil, nil),
        // A kernel line on the UART source does not trip kernel rules, and the reverse.
        (.uart, "imx_rproc_kick: failed (1, err:-62)", nil, nil),
        (.kernel, "ASSERT ERROR \" x \": file \"a.c\" Line \"1\"", nil, nil),
    ]

    @Test(arguments: 0..<corpus.count)
    func corpusLineGivesItsClassAndSeverity(index: Int) {
        let (source, text, cls, severity) = Self.corpus[index]
        let found = Self.rules.match(Self.line(source, text), linkEverEchoed: true)
        if let cls {
            #expect(found.first?.findingClass == cls, "\(text) -> \(found.map(\.findingClass))")
            #expect(found.first?.severity == severity)
        } else {
            #expect(found.isEmpty, "noise gave \(found.map(\.findingClass))")
        }
    }

    @Test func kickFailureIsDecoded() throws {
        let f = try #require(Self.rules.match(Self.line(.kernel, "imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)"), linkEverEchoed: true).first)
        #expect(f.details == ["vq": "1", "err": "-62", "errno": "ETIME"])
        #expect(f.explanation.contains("vq 1 is Linux's TX queue"))
        #expect(f.explanation.contains("-ETIME: the M7 did not service its mailbox interrupt within the TX timeout"))
        #expect(f.action == .recover)
        let boot = try #require(Self.rules.match(Self.line(.kernel, "imx_rproc_kick: failed (0, err:-62)"), linkEverEchoed: false).first)
        #expect(boot.explanation.contains("vq 0 is the RX-buffer kick"))
    }

    @Test func firmwareBannerIsAFindingOnlyMidRun() {
        let banner = Self.line(.uart, "RPMSG String Echo FreeRTOS RTOS API Demo...")
        #expect(Self.rules.match(banner, linkEverEchoed: false).isEmpty, "expected at start")
        #expect(Self.rules.match(banner, linkEverEchoed: true).first?.findingClass == "firmware-rebooted")
    }

    @Test func assertCapturesGoIntoTheExplanation() throws {
        let f = try #require(Self.rules.match(Self.line(.uart, Self.corpus[9].1), linkEverEchoed: true).first)
        #expect(f.explanation == "the M7 firmware failed assert( len < 512 ) at main_remote.c:215 and halted")
    }

    @Test func profileRulesAndSilenceAreApplied() throws {
        let p = try ConfigLoader.parseProfile(text: """
        name: r
        phases: [{duration: 1s, rate: 1, size: 64}]
        silence: [kernel-warning]
        rules:
          - {name: app-crc, source: uart, pattern: "CRC mismatch in frame (\\\\d+)", class: app-crc, severity: error, explain: "app frame $1", action: fail}
        heartbeat: {pattern: "heartbeat", within: 5s}
        """, file: "p.yaml")
        let set = try RuleSet(p.effectiveRules)
        #expect(set.match(Self.line(.kernel, Self.corpus[13].1), linkEverEchoed: true).isEmpty, "silenced")
        let f = try #require(set.match(Self.line(.uart, "CRC mismatch in frame 42"), linkEverEchoed: true).first)
        #expect(f.explanation == "app frame 42" && f.action == .fail)
        #expect(p.heartbeat == HeartbeatRule(pattern: "heartbeat", within: .seconds(5)))
    }

    @Test func badRulesAreConfigErrors() {
        #expect { _ = try ConfigLoader.parseProfile(text: "name: r\nphases: [{duration: 1s, rate: 1, size: 64}]\nsilence: [no-such-rule]\n", file: "p.yaml") }
            throws: { "\($0)".contains("p.yaml:3:11") && "\($0)".contains("no built-in rule is called 'no-such-rule'") }
        #expect { _ = try ConfigLoader.parseProfile(text: "name: r\nphases: [{duration: 1s, rate: 1, size: 64}]\nrules: [{name: x, pattern: \"(\"}]\n", file: "p.yaml") }
            throws: { "\($0)".contains("does not compile") }
    }
}

struct DiagnosisTests {
    static let s: UInt64 = 1_000_000_000
    static func kick(at: UInt64) -> (at: UInt64, finding: Finding) {
        let f = try! RuleSet(BuiltInRules.all).match(SourceLine(source: .kernel, at: at, text: "imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)"), linkEverEchoed: true)[0]
        return (at, f)
    }

    @Test func kickWithSilentUartMeansCoreHalted() {
        let lastEcho = 100 * Self.s
        let lines = [SourceLine(source: .uart, at: lastEcho - 3 * Self.s + 400_000_000, text: "Get Message From Master Side : \"x\" [len : 1]")]
        let d = Diagnosis.explain(failure: "hang: no echo for 3s", at: lastEcho + 3 * Self.s, lastEchoAt: lastEcho, lines: lines,
                                  findings: [Self.kick(at: lastEcho + 120_000_000)], uartWatched: true, kernelWatched: true)
        #expect(d == "hang: no echo for 3s; kick timeout on vq 1 120 ms after the last echo; UART silent since 5.6 s before: core halted or clock-gated")
    }

    @Test func kickWithUartStillPrintingMeansInterruptMaskedOrStarved() {
        let lastEcho = 100 * Self.s
        let lines = (1...5).map { SourceLine(source: .uart, at: lastEcho + UInt64($0) * 500_000_000, text: "[M7] heartbeat \($0)") }
        let d = Diagnosis.explain(failure: "hang", at: lastEcho + 3 * Self.s, lastEchoAt: lastEcho, lines: lines,
                                  findings: [Self.kick(at: lastEcho + 50_000_000)], uartWatched: true, kernelWatched: true)
        #expect(d.contains("UART still printing (last line 500 ms before): interrupt masked or starved"), "\(d)")
    }

    @Test func nothingWatchedSaysSo() {
        let d = Diagnosis.explain(failure: "hang", at: 10 * Self.s, lastEchoAt: 5 * Self.s, lines: [], findings: [],
                                  uartWatched: false, kernelWatched: false)
        #expect(d.contains("neither the M7 UART nor the kernel log was watched"))
    }
}
