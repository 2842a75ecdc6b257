/// Switches the board's power: the simulator's power input, a GPIO relay, a PDU command.
/// A switch knows on and off; cycling and the exit state are written once, in PowerControl.
/// A few switches can only cycle (LAVA's hard reset command without power on/off commands):
/// they say so with `resetOnly`, and PowerControl cycles them with `hardReset()` instead.
public protocol PowerSwitch: AnyObject {
    /// For messages: "gpio relaychip/POWER_RELAY", "command", "sim".
    var name: String { get }
    /// The switch has no on and no off, only `hardReset()`, which ends with the power on.
    var resetOnly: Bool { get }
    func on() throws(RecoveryFailure)
    func off() throws(RecoveryFailure)
    /// One power cycle in one step (off, its own wait, on); only a reset-only switch has it.
    func hardReset() throws(RecoveryFailure)
    /// Gives the hardware back (a GPIO line request) after the last on/off.
    func release()
}

extension PowerSwitch {
    public var resetOnly: Bool { false }
    public func hardReset() throws(RecoveryFailure) {
        throw RecoveryFailure("power \(name): no hard reset (a cycle is off, then on)")
    }
    public func release() {}
}

/// Owns a power switch for one run or one `power` command: cycles it, remembers what it last
/// switched to, and on the way out leaves the board in the declared state (`on_exit`, default on).
/// The board is never left off by accident: a failed off switches back on, and an interrupted
/// cycle ends in `finish()`, which every owner calls on every exit path it controls.
///
/// A reset-only switch (LAVA's hard reset alone) cannot be switched off, so `on_exit: off` is
/// refused before it is built (LavaEnvironment), `on()` and `off()` fail, and a cycle is the
/// reset. Every reset that succeeds leaves the power on; after one that failed (it may have cut
/// the power and not restored it) `finish()` with `on_exit: on` resets once more, the only way
/// such a switch has to bring the power back.
public final class PowerControl {
    public let power: PowerSwitch
    public let onExit: PowerConfig.ExitState
    /// The last state this control switched to; nil until it switched (or was told the state).
    public private(set) var lastSwitched: Bool?
    private var finished = false
    /// A hard reset failed: the power may be off.
    private var resetFailed = false

    /// The switch can only cycle (a hard reset): no on, no off.
    public var resetOnly: Bool { power.resetOnly }

    /// - knownOn: the switch already drives "on" (a GPIO line requested with power on).
    public init(_ power: PowerSwitch, onExit: PowerConfig.ExitState, knownOn: Bool? = nil) {
        self.power = power
        self.onExit = onExit
        self.lastSwitched = knownOn
    }

    public func on() throws(RecoveryFailure) {
        if resetOnly { throw RecoveryFailure("power \(power.name) can only be reset (a hard reset command), not switched on") }
        try power.on()
        lastSwitched = true
    }

    public func off() throws(RecoveryFailure) {
        if resetOnly { throw RecoveryFailure("power \(power.name) can only be reset (a hard reset command), not switched off") }
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
        if resetOnly { return try hardReset() }
        try off()
        guard wait(offTime) else { throw RecoveryFailure("interrupted while the power was off") }
        try on()
    }

    /// A reset-only switch's cycle: the reset command, which waits its own off time. The power is
    /// on after it; after a failed one nobody knows.
    public func hardReset() throws(RecoveryFailure) {
        do {
            try power.hardReset()
            lastSwitched = true
            resetFailed = false
        } catch {
            lastSwitched = nil
            resetFailed = true
            throw error
        }
    }

    /// Leaves the board in the declared state and releases the switch. Safe to call twice.
    /// Returns what it did, for the timeline ("power switched on (on_exit: on)"), or nil.
    @discardableResult
    public func finish() throws(RecoveryFailure) -> String? {
        guard !finished else { return nil }
        finished = true
        defer { power.release() }
        if resetOnly {
            // No off: `off` was refused at the start. A reset is the only way back to "on".
            guard onExit == .on, resetFailed else { return nil }
            try hardReset()
            return "power reset again after a failed reset, to leave it on (on_exit: on)"
        }
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
