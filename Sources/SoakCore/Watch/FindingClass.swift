/// The classes of finding the tester itself knows: the built-in rules' and the line watcher's.
/// The diagnosis and the reboot windows recognise findings by these, so a renamed class is a
/// compile error instead of a diagnosis that silently stops matching. A profile's own rules
/// may name any class; `Finding.findingClass` stays a string on the timeline.
public enum FindingClass: String, Sendable, CaseIterable {
    case mailboxKickTimeout = "mailbox-kick-timeout"
    case txBufferTimeout = "tx-buffer-timeout"
    case rpmsgSendFailed = "rpmsg-send-failed"
    case messageTooBig = "message-too-big"
    case ttyNoMemory = "tty-no-memory"
    case ttyRemoved = "tty-removed"
    case ttyInstalled = "tty-installed"
    case remoteprocCrash = "remoteproc-crash"
    case remoteprocRecovery = "remoteproc-recovery"
    case firmwareAssert = "firmware-assert"
    case firmwareHardfault = "firmware-hardfault"
    case firmwareRebooted = "firmware-rebooted"
    case kernelOops = "kernel-oops"
    case kernelBug = "kernel-bug"
    case kernelWarning = "kernel-warning"
    case kernelPanic = "kernel-panic"
    case kernelHungTask = "kernel-hung-task"
    case kernelSoftLockup = "kernel-soft-lockup"
    case kernelRcuStall = "kernel-rcu-stall"
    // Raised by the line watcher, not by a pattern.
    case uartLost = "uart-lost"
    case kernelLost = "kernel-lost"
    case kernelLogOverrun = "kernel-log-overrun"
    case uartHeartbeatMissing = "uart-heartbeat-missing"
}

extension Finding {
    /// Whether this finding is of a class the tester knows.
    public func `is`(_ c: FindingClass) -> Bool { findingClass == c.rawValue }
}

extension Rule {
    /// A built-in rule: its class is one the tester knows.
    init(name: String, source: SourceLine.Source?, pattern: String, class c: FindingClass, severity: Severity,
         explanation: String, action: Action, midRunOnly: Bool = false, decoder: Decoder = .none) {
        self.init(name: name, source: source, pattern: pattern, findingClass: c.rawValue, severity: severity,
                  explanation: explanation, action: action, midRunOnly: midRunOnly, decoder: decoder)
    }
}
