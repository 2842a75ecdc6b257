/// Switches the board's power: the simulator's power input, a GPIO relay, a PDU command.
/// A switch only knows on and off; cycling and the exit state are written once, in PowerControl.
public protocol PowerSwitch: AnyObject {
    /// For messages: "gpio relaychip/POWER_RELAY", "command", "sim".
    var name: String { get }
    func on() throws(RecoveryFailure)
    func off() throws(RecoveryFailure)
    /// Gives the hardware back (a GPIO line request) after the last on/off.
    func release()
}

extension PowerSwitch {
    public func release() {}
}

/// Owns a power switch for one run or one `power` command: cycles it, remembers what it last
/// switched to, and on the way out leaves the board in the declared state (`on_exit`, default on).
/// The board is never left off by accident: a failed off switches back on, and an interrupted
/// cycle ends in `finish()`, which every owner calls on every exit path it controls.
public final class PowerControl {
    public let power: PowerSwitch
    public let onExit: PowerConfig.ExitState
    /// The last state this control switched to; nil until it switched (or was told the state).
    public private(set) var lastSwitched: Bool?
    private var finished = false

    /// - knownOn: the switch already drives "on" (a GPIO line requested with power on).
    public init(_ power: PowerSwitch, onExit: PowerConfig.ExitState, knownOn: Bool? = nil) {
        self.power = power
        self.onExit = onExit
        self.lastSwitched = knownOn
    }

    public func on() throws(RecoveryFailure) {
        try power.on()
        lastSwitched = true
    }

    public func off() throws(RecoveryFailure) {
        do {
            try power.off()
            lastSwitched = false
        } catch {
            // A half-done off (a relay command that timed out) may have cut the power.
            try? on()
            throw error
        }
    }

    /// Off, wait `offTime`, on. `wait` sleeps and returns false when it was interrupted
    /// (SIGINT/SIGTERM): then the cycle stops with power off and the owner's `finish()` puts
    /// the board in its declared state, without switching on just to switch off again.
    public func cycle(offTime: SoakDuration, wait: (SoakDuration) -> Bool) throws(RecoveryFailure) {
        try off()
        guard wait(offTime) else { throw RecoveryFailure("interrupted while the power was off") }
        try on()
    }

    /// Leaves the board in the declared state and releases the switch. Safe to call twice.
    /// Returns what it did, for the timeline ("power switched on (on_exit: on)"), or nil.
    @discardableResult
    public func finish() throws(RecoveryFailure) -> String? {
        guard !finished else { return nil }
        finished = true
        defer { power.release() }
        switch onExit {
        case .on where lastSwitched == false:  // never switched: left as found
            try on()
            return "power switched on (on_exit: on)"
        case .off where lastSwitched != false:
            try power.off()
            lastSwitched = false
            return "power switched off (on_exit: off)"
        default:
            return nil
        }
    }
}
