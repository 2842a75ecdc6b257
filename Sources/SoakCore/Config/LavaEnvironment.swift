/// What a LAVA worker gives a `docker` test action: the device dictionary's commands as
/// environment variables (`power_on_command` → `LAVA_POWER_ON_COMMAND`, ...). A board file that
/// says `power: {kind: lava}` or `uart: {command: lava}` takes them from here at run time. Each
/// variable holds a shell command line (several commands of the dictionary joined by `&&`), run
/// with /bin/sh -c. Pure: the caller passes the environment in.
public struct LavaEnvironment: Sendable, Equatable {
    public static let powerOn = "LAVA_POWER_ON_COMMAND"
    public static let powerOff = "LAVA_POWER_OFF_COMMAND"
    public static let hardReset = "LAVA_HARD_RESET_COMMAND"
    public static let connection = "LAVA_CONNECTION_COMMAND"

    /// The variables this tester reads, by name; an empty value counts as missing.
    public var values: [String: String]

    public init(_ environment: [String: String]) {
        var v: [String: String] = [:]
        for name in [Self.powerOn, Self.powerOff, Self.hardReset, Self.connection] {
            if let value = environment[name], !value.allSatisfy(\.isWhitespace) { v[name] = value }
        }
        values = v
    }

    /// The power commands a `kind: lava` switch runs: on and off when both are set (a cycle is
    /// then off, off_time, on), else the hard reset alone (a cycle is the reset; the switch cannot
    /// switch on or off on its own).
    public struct PowerCommands: Sendable, Equatable {
        public var on: String?
        public var off: String?
        public var hardReset: String?
        /// Only a hard reset: no on or off.
        public var resetOnly: Bool { on == nil || off == nil }
    }

    public struct Missing: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The power commands, or what is missing (naming the variables). `onExit: off` needs an off
    /// command: a hard reset alone ends with the power on.
    public func powerCommands(onExit: PowerConfig.ExitState) throws(Missing) -> PowerCommands {
        let on = values[Self.powerOn], off = values[Self.powerOff], reset = values[Self.hardReset]
        if on == nil || off == nil, reset == nil {
            let missing = [Self.powerOn, Self.powerOff].filter { values[$0] == nil }
            throw Missing(message: "power kind lava: \(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") not set, "
                          + "nor \(Self.hardReset) (LAVA sets them from the device dictionary's power_on_command, power_off_command and hard_reset_command)")
        }
        let commands = on != nil && off != nil ? PowerCommands(on: on, off: off, hardReset: reset) : PowerCommands(on: nil, off: nil, hardReset: reset)
        if commands.resetOnly && onExit == .off {
            throw Missing(message: "power kind lava with on_exit: off needs \(Self.powerOff) (and \(Self.powerOn)): only \(Self.hardReset) is set, and a hard reset ends with the power on")
        }
        return commands
    }

    /// The UART's command for `uart: {command: lava}`, or what is missing.
    public func connectionCommand() throws(Missing) -> String {
        guard let c = values[Self.connection] else {
            throw Missing(message: "uart command lava: \(Self.connection) is not set (LAVA sets it from the device dictionary's connection_command)")
        }
        return c
    }

    /// Everything the board needs from the environment that is not there, one message each.
    public func problems(for board: BoardConfig) -> [String] {
        var out: [String] = []
        if let p = board.power, case .lava = p.via {
            do { _ = try powerCommands(onExit: p.onExit) } catch { out.append(error.message) }
        }
        if case .command(.lava)? = board.uart?.location {
            do { _ = try connectionCommand() } catch { out.append(error.message) }
        }
        return out
    }

    /// For `check`: one line per variable the board uses, set (with its value) or not set, and
    /// what a power cycle will be.
    public func report(for board: BoardConfig) -> [String] {
        var names: [String] = []
        let power = board.power.flatMap { p -> PowerConfig? in if case .lava = p.via { return p } else { return nil } }
        if power != nil { names += [Self.powerOn, Self.powerOff, Self.hardReset] }
        if case .command(.lava)? = board.uart?.location { names.append(Self.connection) }
        var lines = names.map { name in values[name].map { "\(name) set: \($0)" } ?? "\(name) not set" }
        if let power, let commands = try? powerCommands(onExit: power.onExit) {
            lines.append(commands.resetOnly
                ? "power: a cycle is \(Self.hardReset) (no on and off commands; on_exit: \(power.onExit.rawValue))"
                : "power: a cycle is \(Self.powerOff), off_time, \(Self.powerOn)")
        }
        return lines
    }
}
