import Foundation

/// What the M7 UART and the kernel log say, judged: rules, the heartbeat, the ready line, and
/// the windows that excuse our own reboots. Pure: lines and time in, findings and notes out;
/// it keeps the recent lines and findings a failure's evidence needs.
public struct LineWatcher {
    /// Something the run must put on its timeline.
    public enum Note: Equatable {
        case finding(Finding, at: UInt64)
        /// A source opened, went away, overran or may not be read (`warning`), or lines were
        /// dropped unread (no source, a warning).
        case source(SourceLine.Source?, message: String, at: UInt64, warning: Bool)
        /// The firmware's banner or the kernel's version, the first time a line says it.
        case seen(BoardSeen, source: SourceLine.Source, at: UInt64)
    }

    /// The NXP echo demo's banner, the firmware line when the board file names no `ready`.
    static let defaultBanner = try! Pattern(#"RPMSG String Echo FreeRTOS RTOS API Demo"#)
    static let linuxVersion = try! Pattern(#"Linux version (\S+)"#)
    /// What the board said about itself so far.
    public private(set) var seen: [BoardSeen.Key: String] = [:]

    let rules: RuleSet
    let ready: Pattern?
    private var heartbeat: (rule: HeartbeatRule, pattern: Pattern, lastSeen: UInt64, reported: Bool)?
    /// Which lines a flood may thin from the logs: those no rule, ready line, banner or
    /// heartbeat could match. Thread-safe, for the inbox on the readers' threads.
    public let triage: LineTriage

    /// Until then a firmware banner, a lost UART or a re-installed tty are our own power cycle's doing.
    public private(set) var expectedRebootUntil: UInt64 = 0
    /// Until then a firmware banner is the boot we started the run on, not a reboot.
    public private(set) var bootBannerUntil: UInt64 = 0
    /// When the UART last printed the ready line (nil: not since `awaitReady()`).
    public private(set) var readySeenAt: UInt64?
    /// The first echo of the run: a rule that fires only mid-run looks at the line's own time
    /// against it, so boot lines read late are still boot lines.
    public var firstEchoAt: UInt64?
    /// Recent UART lines and kernel records, for the evidence of a failure.
    public private(set) var recentLines: [SourceLine] = []
    public private(set) var findings: [(at: UInt64, finding: Finding)] = []
    /// The first finding whose rule says the link is gone (action `recover`), not yet handled.
    public private(set) var recoverFinding: (at: UInt64, finding: Finding)?
    /// Sources that have been open at least once: a UART missing at start is not "lost".
    private var openedSources: Set<SourceLine.Source> = []

    static let recentLineLimit = 4000
    static let findingLimit = 2000

    public init(rules: RuleSet, heartbeat: HeartbeatRule?, ready: NSRegularExpression?, start: UInt64) throws(ConfigError) {
        self.rules = rules
        self.ready = ready.map(Pattern.init)
        if let h = heartbeat {
            guard let re = try? Pattern(h.pattern) else {
                throw ConfigError(file: "profile", line: 0, column: 0, key: "heartbeat.pattern", message: "the pattern does not compile: \(h.pattern)")
            }
            self.heartbeat = (h, re, start, false)
        }
        triage = LineTriage(rules: rules, uart: [self.ready, self.heartbeat?.pattern, Self.defaultBanner].compactMap { $0 },
                            kernel: [Self.linuxVersion])
        started(at: start)
    }

    /// The soak starts: a board that has just booted (the simulator, a relay we switched on)
    /// prints its banner now, and the UART reader may deliver it only after the first echo.
    public mutating func started(at start: UInt64) { bootBannerUntil = start &+ 2_000_000_000 }

    /// Our own power cycle or M7 restart: its banner, a lost UART and a re-installed tty are
    /// expected until `until`.
    public mutating func expectReboot(until: UInt64) { expectedRebootUntil = max(expectedRebootUntil, until) }

    /// Forget the ready line seen so far: the next one says the restarted firmware is up.
    public mutating func awaitReady() { readySeenAt = nil }

    /// The recovery finding was handled (the link was recovered).
    public mutating func clearRecoverFinding() { recoverFinding = nil }

    /// Judges what the readers queued, in order.
    public mutating func take(_ items: [LineInbox.Item], into notes: inout [Note]) {
        for item in items { take(item, into: &notes) }
    }

    /// Judges one queued item.
    public mutating func take(_ item: LineInbox.Item, into notes: inout [Note]) {
        switch item {
        case .line(let line): take(line, into: &notes)
        case .notice(let source, let notice, let at): take(notice, from: source, at: at, into: &notes)
        }
        if recentLines.count > Self.recentLineLimit { recentLines.removeFirst(recentLines.count - Self.recentLineLimit / 2) }
    }

    mutating func take(_ line: SourceLine, into notes: inout [Note]) {
        recentLines.append(line)
        if line.source == .uart {
            let isReady = ready?.matches(line.text) ?? false
            if isReady { readySeenAt = line.at }
            if seen[.firmware] == nil, isReady || (ready == nil && Self.defaultBanner.matches(line.text)) {
                let banner = line.text.trimmingCharacters(in: .whitespacesAndNewlines)
                seen[.firmware] = banner
                notes.append(.seen(BoardSeen(key: .firmware, value: banner), source: .uart, at: line.at))
            }
            if let h = heartbeat, h.pattern.matches(line.text) {
                heartbeat?.lastSeen = line.at
                heartbeat?.reported = false
            }
        }
        if line.source == .kernel, seen[.kernel] == nil,
           let m = Self.linuxVersion.firstMatch(in: line.text),
           let r = Range(m.range(at: 1), in: line.text) {
            seen[.kernel] = String(line.text[r])
            notes.append(.seen(BoardSeen(key: .kernel, value: String(line.text[r])), source: .kernel, at: line.at))
        }
        let midRun = firstEchoAt.map { line.at > $0 } ?? false
        for f in rules.match(line, linkEverEchoed: midRun) { add(f, at: line.at, into: &notes) }
    }

    mutating func take(_ notice: SourceNotice, from source: SourceLine.Source, at: UInt64, into notes: inout [Note]) {
        let message: String
        var warning = false
        var finding: Finding?
        switch notice {
        case .opened(let what):
            message = "\(source.rawValue): opened \(what)"
            openedSources.insert(source)
        case .lost(let why):
            message = "\(source.rawValue): \(why)"
            if openedSources.contains(source) {
                let c: FindingClass = source == .uart ? .uartLost : .kernelLost
                finding = Finding(rule: c.rawValue, findingClass: c.rawValue, severity: .warning, action: .record, source: source,
                                  explanation: "the \(source == .uart ? "M7 debug UART" : "kernel log") went away: \(why); it is reopened when it is back",
                                  line: nil, details: nil)
            }
        case .overrun(let missed):
            message = "kernel log overrun: \(missed) record(s) were overwritten before they were read"
            finding = Finding(rule: FindingClass.kernelLogOverrun.rawValue, findingClass: FindingClass.kernelLogOverrun.rawValue,
                              severity: .warning, action: .record, source: .kernel, explanation: message, line: nil, details: nil)
        case .permissionDenied(let why):
            message = "\(source.rawValue): \(why)"
            warning = true
        }
        notes.append(.source(source, message: message, at: at, warning: warning))
        if let finding { add(finding, at: at, into: &notes) }
    }

    /// Lines the inbox had to drop because the run fell behind its readers: a warning on the
    /// timeline, so a report never looks complete when it is not.
    public func dropped(_ count: UInt64, at: UInt64, into notes: inout [Note]) {
        guard count > 0 else { return }
        notes.append(.source(nil, message: "\(count) UART line(s) or kernel record(s) were dropped unread: the run fell behind its readers", at: at, warning: true))
    }

    /// Time passing: a heartbeat that stayed away too long is a finding, once per silence.
    public mutating func tick(now: UInt64, into notes: inout [Note]) {
        guard let h = heartbeat, !h.reported, now > h.lastSeen, now - h.lastSeen >= h.rule.within.nanoseconds else { return }
        heartbeat?.reported = true
        let c = FindingClass.uartHeartbeatMissing
        add(Finding(rule: "heartbeat", findingClass: c.rawValue, severity: .warning, action: .record, source: .uart,
                    explanation: "no UART line matching /\(h.rule.pattern)/ for \(h.rule.within)", line: nil, details: nil),
            at: now, into: &notes)
    }

    private mutating func add(_ f: Finding, at: UInt64, into notes: inout [Note]) {
        if at <= expectedRebootUntil && (f.is(.firmwareRebooted) || f.is(.uartLost) || f.is(.ttyInstalled) || f.is(.ttyRemoved)) {
            return  // our own power cycle
        }
        if at <= bootBannerUntil && f.is(.firmwareRebooted) { return }
        findings.append((at, f))
        if findings.count > Self.findingLimit { findings.removeFirst(Self.findingLimit / 2) }
        notes.append(.finding(f, at: at))
        if f.action == .recover && recoverFinding == nil { recoverFinding = (at, f) }
    }
}
