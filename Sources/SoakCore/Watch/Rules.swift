import Foundation

/// A pattern on the UART or the kernel log that means something: which class of finding it
/// is, how bad, what it means in plain words, and what the run does about it.
public struct Rule: Sendable, Codable, Equatable {
    public enum Severity: String, Sendable, Codable, Comparable, CaseIterable {
        case info, warning, error, fatal
        var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }
    public enum Action: String, Sendable, Codable, CaseIterable {
        /// Note it on the timeline and in the reports.
        case record
        /// The run fails its criteria, but goes on.
        case fail
        /// The link is gone: stop soaking and recover (without a recovery step, end the run).
        case recover
    }
    /// Only kernel-log rules decode their captures into words.
    public enum Decoder: String, Sendable, Codable { case none, kick }

    public var name: String
    /// nil: both sources.
    public var source: SourceLine.Source?
    public var pattern: String
    public var findingClass: String
    public var severity: Severity
    /// Plain-language meaning; `$1`, `$2` ... are the pattern's captures.
    public var explanation: String
    public var action: Action
    /// Fires only once the link has echoed (a firmware banner at start is expected; mid-run it
    /// means the M7 rebooted).
    public var midRunOnly: Bool
    public var decoder: Decoder

    public init(name: String, source: SourceLine.Source?, pattern: String, findingClass: String, severity: Severity,
                explanation: String, action: Action, midRunOnly: Bool = false, decoder: Decoder = .none) {
        self.name = name; self.source = source; self.pattern = pattern; self.findingClass = findingClass
        self.severity = severity; self.explanation = explanation; self.action = action
        self.midRunOnly = midRunOnly; self.decoder = decoder
    }
}

/// What a rule found in one line.
public struct Finding: Sendable, Codable, Equatable {
    public var rule: String
    public var findingClass: String
    public var severity: Rule.Severity
    public var action: Rule.Action
    public var source: SourceLine.Source?
    public var explanation: String
    /// The line as read (nil for findings without a line: heartbeat silence, a lost UART).
    public var line: String?
    /// Decoded values: for the kick failure `vq` and `err`.
    public var details: [String: String]?
}

/// The rules of a run, compiled once. Matching allocates only when a line matches; a line
/// without a rule's required text never reaches that rule's regular expression.
public final class RuleSet: @unchecked Sendable {
    struct Compiled {
        let rule: Rule
        let pattern: Pattern
    }
    let compiled: [Compiled]
    public var rules: [Rule] { compiled.map(\.rule) }

    /// Compiles `rules`; a pattern that does not compile names the rule.
    public init(_ rules: [Rule]) throws(ConfigError) {
        var out: [Compiled] = []
        for r in rules {
            do {
                out.append(Compiled(rule: r, pattern: try Pattern(r.pattern)))
            } catch {
                throw ConfigError(file: "rules", line: 0, column: 0, key: r.name, message: "pattern does not compile: \(r.pattern)")
            }
        }
        compiled = out
    }

    /// Whether a rule could match `line` (its required text is there): a line for which this
    /// is false can be thinned from the logs without losing a finding. Thread-safe.
    public func mayMatch(_ line: SourceLine) -> Bool {
        compiled.contains { c in (c.rule.source == nil || c.rule.source == line.source) && c.pattern.mayMatch(line.text) }
    }

    /// Every finding for one line (usually none).
    public func match(_ line: SourceLine, linkEverEchoed: Bool) -> [Finding] {
        var out: [Finding] = []
        for c in compiled {
            if let s = c.rule.source, s != line.source { continue }
            if c.rule.midRunOnly && !linkEverEchoed { continue }
            guard let m = c.pattern.firstMatch(in: line.text) else { continue }
            let ns = line.text as NSString
            var captures: [String] = []
            for i in 0..<m.numberOfRanges {
                let r = m.range(at: i)
                captures.append(r.location == NSNotFound ? "" : ns.substring(with: r))
            }
            var explanation = c.rule.explanation
            for i in stride(from: captures.count - 1, through: 1, by: -1) {
                explanation = explanation.replacingOccurrences(of: "$\(i)", with: captures[i])
            }
            var details: [String: String]?
            if c.rule.decoder == .kick, captures.count >= 3 {
                let decoded = KernelDecoders.kick(vq: captures[1], err: captures[2])
                explanation = decoded.text
                details = decoded.details
            }
            out.append(Finding(rule: c.rule.name, findingClass: c.rule.findingClass, severity: c.rule.severity,
                               action: c.rule.action, source: line.source, explanation: explanation, line: line.text,
                               details: details))
        }
        return out
    }
}

/// Turns kernel numbers into words (DOMAIN.md).
public enum KernelDecoders {
    static let errnos: [Int: (String, String)] = [
        62: ("ETIME", "the M7 did not service its mailbox interrupt within the TX timeout (100 ms in current kernels)"),
        110: ("ETIMEDOUT", "the operation timed out"),
        5: ("EIO", "input/output error"),
        12: ("ENOMEM", "out of memory"),
        19: ("ENODEV", "no such device"),
        22: ("EINVAL", "invalid argument"),
        28: ("ENOSPC", "no space left (no free buffer)"),
        16: ("EBUSY", "device or resource busy"),
    ]

    public static func kick(vq: String, err: String) -> (text: String, details: [String: String]) {
        let queue: String
        switch vq {
        case "1": queue = "vq 1 is Linux's TX queue: Linux had just queued a message for the M7"
        case "0": queue = "vq 0 is the RX-buffer kick, seen at probe or boot when the M7 is not running"
        default: queue = "vq \(vq)"
        }
        let code = abs(Int(err) ?? 0)
        let (name, meaning) = errnos[code] ?? ("errno \(code)", "an error from the mailbox")
        let text = "mailbox kick failed on \(queue); \(err) is -\(name): \(meaning). Every later send fails the same way; only a power cycle (or a remoteproc restart when Linux loaded the firmware) brings the link back"
        return (text, ["vq": vq, "err": err, "errno": name])
    }
}

/// The built-in rule pack for i.MX8M RPMsg (DOMAIN.md) and the generic kernel alarms.
public enum BuiltInRules {
    public static let all: [Rule] = [
        Rule(name: "imx-rproc-kick-failed", source: .kernel, pattern: #"imx_rproc_kick: failed \((\d+), err:(-?\d+)\)"#,
             class: .mailboxKickTimeout, severity: .fatal,
             explanation: "mailbox kick failed", action: .recover, decoder: .kick),
        Rule(name: "rpmsg-tx-buffer-timeout", source: .kernel, pattern: #"timeout waiting for a tx buffer"#,
             class: .txBufferTimeout, severity: .error,
             explanation: "no free rpmsg TX buffer for 15 s: the M7 stopped consuming messages, the write failed", action: .fail),
        Rule(name: "rpmsg-send-failed", source: .kernel, pattern: #"rpmsg_send failed: (-?\d+)"#,
             class: .rpmsgSendFailed, severity: .error,
             explanation: "the tty driver could not send a message to the M7 (error $1)", action: .fail),
        Rule(name: "rpmsg-message-too-big", source: .kernel, pattern: #"message is too big"#,
             class: .messageTooBig, severity: .error,
             explanation: "a message above the rpmsg buffer size (496 bytes of payload) was refused", action: .fail),
        Rule(name: "rpmsg-tty-no-memory", source: .kernel, pattern: #"No memory for tty_prepare_flip_string"#,
             class: .ttyNoMemory, severity: .error,
             explanation: "the tty could not take the M7's data: echoes were dropped in the kernel", action: .fail),
        Rule(name: "rpmsg-tty-removed", source: .kernel, pattern: #"rpmsg tty driver is removed"#,
             class: .ttyRemoved, severity: .error,
             explanation: "the RPMsg tty driver was removed: the tty went away (channel gone, driver unloaded or remoteproc stopped)", action: .record),
        Rule(name: "rpmsg-tty-installed", source: .kernel, pattern: #"Install rpmsg tty driver!"#,
             class: .ttyInstalled, severity: .info,
             explanation: "the RPMsg tty driver bound to the M7's channel", action: .record, midRunOnly: true),
        Rule(name: "remoteproc-crash", source: .kernel, pattern: #"remoteproc\d*: crash detected in (\S+)"#,
             class: .remoteprocCrash, severity: .fatal,
             explanation: "remoteproc detected a crash of $1", action: .recover),
        Rule(name: "remoteproc-recovering", source: .kernel, pattern: #"remoteproc\d*: (recovering|recovery)"#,
             class: .remoteprocRecovery, severity: .warning,
             explanation: "remoteproc is restarting the remote core", action: .record),
        Rule(name: "firmware-assert", source: .uart, pattern: #"ASSERT ERROR "(.*?)": file "(.*?)" Line "(\d+)""#,
             class: .firmwareAssert, severity: .fatal,
             explanation: "the M7 firmware failed assert($1) at $2:$3 and halted", action: .recover),
        Rule(name: "firmware-hardfault", source: .uart, pattern: #"(?i)hard ?fault"#,
             class: .firmwareHardfault, severity: .fatal,
             explanation: "the M7 took a HardFault and halted", action: .recover),
        Rule(name: "firmware-rebooted", source: .uart, pattern: #"RPMSG String Echo FreeRTOS RTOS API Demo"#,
             class: .firmwareRebooted, severity: .error,
             explanation: "the M7 firmware printed its start banner mid-run: the M7 rebooted", action: .fail, midRunOnly: true),
        Rule(name: "kernel-oops", source: .kernel, pattern: #"(Internal error: Oops|Oops:|Unable to handle kernel)"#,
             class: .kernelOops, severity: .fatal, explanation: "the Linux kernel oopsed", action: .fail),
        Rule(name: "kernel-bug", source: .kernel, pattern: #"(^|\s)BUG: "#,
             class: .kernelBug, severity: .fatal, explanation: "the Linux kernel hit a BUG", action: .fail),
        Rule(name: "kernel-warning", source: .kernel, pattern: #"WARNING: (CPU: \d+|.* at )"#,
             class: .kernelWarning, severity: .warning, explanation: "the Linux kernel printed a WARNING (a backtrace follows)", action: .record),
        Rule(name: "kernel-panic", source: .kernel, pattern: #"Kernel panic"#,
             class: .kernelPanic, severity: .fatal, explanation: "the Linux kernel panicked", action: .fail),
        Rule(name: "kernel-hung-task", source: .kernel, pattern: #"INFO: task (\S+) blocked for more than (\d+) seconds"#,
             class: .kernelHungTask, severity: .error, explanation: "task $1 blocked for more than $2 s", action: .fail),
        Rule(name: "kernel-soft-lockup", source: .kernel, pattern: #"soft lockup - CPU#(\d+) stuck"#,
             class: .kernelSoftLockup, severity: .error, explanation: "CPU $1 was stuck in the kernel (soft lockup)", action: .fail),
        Rule(name: "kernel-rcu-stall", source: .kernel, pattern: #"rcu.*(detected stalls|self-detected stall)"#,
             class: .kernelRcuStall, severity: .error, explanation: "an RCU stall: a CPU did not pass a quiescent state", action: .fail),
    ]
}

/// "No UART line matching `pattern` for `within`" is a finding.
public struct HeartbeatRule: Sendable, Codable, Equatable {
    public var pattern: String
    public var within: SoakDuration
}
