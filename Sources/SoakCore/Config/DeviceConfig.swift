import Foundation

/// Where a board's devices are: the RPMsg tty (`link:`) and the M7 UART (`uart:`), each the
/// simulated board's or a device on this machine (a path, a glob or udev properties). A new
/// way to reach a device (a tty on the board over SSH, a TCP serial port) is a case of
/// `DeviceLocation` here, its JSON and YAML beside it, an opener or source in SoakLinux, and
/// its line in BoardParts.

/// Where one of the board's devices is reached.
public enum DeviceLocation: Sendable, Equatable, CustomStringConvertible {
    /// The built-in simulated board's (`sim` in a board file).
    case simulated
    /// A device on this machine, found by path, glob or udev properties.
    case local(DeviceSpec)
    /// A tty on the board, reached from a lab host through the system's OpenSSH client.
    case ssh(SshTarget)
    /// A device of the board file's labgrid place, resolved when the run has the place: for the
    /// link, the tty's path on the place's board (then `.ssh` to its NetworkService, with these
    /// extra ssh options); for the UART, the place's NetworkSerialPort (then `.tcp`).
    case labgrid(String, sshOptions: [String])
    /// A serial port served over TCP (ser2net on a labgrid exporter, raw or telnet): its bytes,
    /// telnet commands taken out.
    case tcp(host: String, port: Int)
    /// A console read from a command's output (`telnet localhost 7001`, LAVA's connection
    /// command): only for the UART.
    case command(ConsoleCommand)

    /// The word a board file (and a timeline) uses for the simulated board's devices.
    public static let simulatedKeyword = "sim"

    /// From a board file's (or a timeline's) `device` and `match` keys. `sim` names the simulated
    /// board even beside a match, as the UART wiring always read it.
    public init(device: String?, match: [String: String]?) {
        self = device == Self.simulatedKeyword ? .simulated : .local(DeviceSpec(device: device, match: match))
    }

    /// The `device` key as board files and timelines spell it: nil when udev properties find it.
    public var device: String? {
        switch self {
        case .simulated: return Self.simulatedKeyword
        case .local(.path(let p)), .local(.glob(let p)): return p
        case .local(.match): return nil
        case .ssh(let target): return target.device
        case .labgrid(let device, _): return device
        case .tcp(let host, let port): return "\(host):\(port)"
        case .command: return nil
        }
    }

    /// The `match` key: the udev properties, when they find it.
    public var match: [String: String]? {
        if case .local(.match(let m)) = self { return m }
        return nil
    }

    public var description: String {
        switch self {
        case .simulated: return Self.simulatedKeyword
        case .local(let spec): return spec.description
        case .ssh(let target): return target.description
        case .labgrid(let device, _): return device.isEmpty ? "the labgrid place's serial port" : "\(device) on the labgrid place's board, over ssh"
        case .tcp(let host, let port): return "\(host):\(port) over TCP"
        case .command(let command): return command.description
        }
    }

    /// The device is on the board, reached over ssh (now or once a labgrid place is resolved).
    public var isOnBoard: Bool {
        switch self {
        case .ssh, .labgrid: return true
        case .simulated, .local, .tcp, .command: return false
        }
    }
}

/// The command whose output is a serial console: a board file's `uart: {command: ...}`.
public enum ConsoleCommand: Sendable, Equatable, CustomStringConvertible {
    /// `lava`: LAVA's `LAVA_CONNECTION_COMMAND`, read from the environment at run time.
    case lava
    /// A shell command line, run with /bin/sh -c.
    case shell(String)

    public static let lavaKeyword = "lava"

    /// From the board file's (or a timeline's) word.
    public init(_ word: String) { self = word == Self.lavaKeyword ? .lava : .shell(word) }

    /// The word as a board file (and a timeline) spells it.
    public var word: String {
        switch self {
        case .lava: return Self.lavaKeyword
        case .shell(let c): return c
        }
    }

    public var description: String {
        switch self {
        case .lava: return "the output of $\(LavaEnvironment.connection)"
        case .shell(let c): return "the output of '\(c)'"
        }
    }
}

/// A device on the board as a lab host reaches it: `ssh` in a board file's `link:` block.
public struct SshTarget: Sendable, Equatable, CustomStringConvertible {
    /// What ssh is given as its destination (`root@imx8mp-01`, or a `Host` of `~/.ssh/config`).
    public var destination: String
    /// The device's path on the board.
    public var device: String
    /// Passed to ssh before the destination (`-p 2222 -i key`), as the user wrote them.
    public var options: [String]

    public init(destination: String, device: String, options: [String] = []) {
        self.destination = destination
        self.device = device
        self.options = options
    }

    public var description: String { "\(destination):\(device) over ssh" }

    /// Whether `device` is a glob (`/dev/ttyRPMSG*`) the board's shell resolves at every open.
    public var deviceIsGlob: Bool { Self.isGlob(device) }

    public static func isGlob(_ device: String) -> Bool { device.contains(where: { "*?[".contains($0) }) }

    /// What a glob on the board may hold: nothing that the board's shell would read as more
    /// than a pattern when the glob stands unquoted in its command.
    public static let globCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.-*?[]")
}

public struct UartConfig: Sendable, Codable, Equatable {
    public var location: DeviceLocation
    public var baud: Int
    /// A regular expression for the line the firmware prints when it is ready (its banner):
    /// after a power cycle or M7 restart, the probe waits for it.
    public var ready: String? = nil
    /// How long to wait for the ready line.
    public var readyTimeout: SoakDuration = .seconds(30)

    public init(location: DeviceLocation, baud: Int, ready: String? = nil, readyTimeout: SoakDuration = .seconds(30)) {
        self.location = location
        self.baud = baud
        self.ready = ready
        self.readyTimeout = readyTimeout
    }
}

/// Where a device is: a path, a glob, or udev properties.
public enum DeviceSpec: Sendable, Equatable, CustomStringConvertible {
    case path(String)
    case glob(String)
    case match([String: String])

    public init(device: String?, match: [String: String]?) {
        if let match { self = .match(match) }
        else if let d = device, d.contains(where: { "*?[".contains($0) }) { self = .glob(d) }
        else { self = .path(device ?? "") }
    }

    public var description: String {
        switch self {
        case .path(let p): return p
        case .glob(let g): return g
        case .match(let m): return "udev match " + m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }
}

public struct LinkConfig: Sendable, Codable, Equatable {
    /// A tty path such as `/dev/ttyRPMSG30`, a glob such as `/dev/ttyRPMSG*` (exactly one must
    /// match) or udev properties, or the built-in simulated board.
    public var location: DeviceLocation
    /// Shell commands run once before the link is opened (for example `modprobe imx_rpmsg_tty`).
    public var setup: [String]
    /// How long a setup command may take.
    public var setupTimeout: SoakDuration

    public init(location: DeviceLocation, setup: [String] = [], setupTimeout: SoakDuration = .seconds(30)) {
        self.location = location
        self.setup = setup
        self.setupTimeout = setupTimeout
    }
}

extension LinkConfig {
    private enum CodingKeys: String, CodingKey { case device, match, ssh, sshOptions, labgrid, setup, setupTimeout }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let device = try c.decode(String.self, forKey: .device)
        let location: DeviceLocation
        // Only an ssh link writes `ssh`: every timeline without it decodes as before.
        if try c.decodeIfPresent(Bool.self, forKey: .labgrid) == true {
            location = .labgrid(device, sshOptions: try c.decodeIfPresent([String].self, forKey: .sshOptions) ?? [])
        } else if let destination = try c.decodeIfPresent(String.self, forKey: .ssh) {
            location = .ssh(SshTarget(destination: destination, device: device,
                                      options: try c.decodeIfPresent([String].self, forKey: .sshOptions) ?? []))
        } else {
            location = DeviceLocation(device: device, match: try c.decodeIfPresent([String: String].self, forKey: .match))
        }
        self.init(location: location,
                  setup: try c.decode([String].self, forKey: .setup),
                  setupTimeout: try c.decode(SoakDuration.self, forKey: .setupTimeout))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // Earlier versions always wrote the device, empty when a udev match finds it.
        try c.encode(location.device ?? "", forKey: .device)
        try c.encodeIfPresent(location.match, forKey: .match)
        if case .ssh(let target) = location {
            try c.encode(target.destination, forKey: .ssh)
            if !target.options.isEmpty { try c.encode(target.options, forKey: .sshOptions) }
        }
        if case .labgrid(_, let options) = location {
            try c.encode(true, forKey: .labgrid)
            if !options.isEmpty { try c.encode(options, forKey: .sshOptions) }
        }
        try c.encode(setup, forKey: .setup)
        try c.encode(setupTimeout, forKey: .setupTimeout)
    }
}

extension UartConfig {
    private enum CodingKeys: String, CodingKey { case device, match, tcp, labgrid, command, baud, ready, readyTimeout }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let device = try c.decodeIfPresent(String.self, forKey: .device)
        let location: DeviceLocation
        // Only a UART of those kinds writes its key: every older timeline decodes as before.
        if try c.decodeIfPresent(Bool.self, forKey: .labgrid) == true {
            location = .labgrid(device ?? "", sshOptions: [])
        } else if let tcp = try c.decodeIfPresent(String.self, forKey: .tcp), let (host, port) = ConfigLoader.hostPort(tcp) {
            location = .tcp(host: host, port: port)
        } else if let command = try c.decodeIfPresent(String.self, forKey: .command) {
            location = .command(ConsoleCommand(command))
        } else {
            location = DeviceLocation(device: device, match: try c.decodeIfPresent([String: String].self, forKey: .match))
        }
        self.init(location: location,
                  baud: try c.decode(Int.self, forKey: .baud),
                  ready: try c.decodeIfPresent(String.self, forKey: .ready),
                  readyTimeout: try c.decodeIfPresent(SoakDuration.self, forKey: .readyTimeout) ?? .seconds(30))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch location {
        case .tcp(let host, let port): try c.encode("\(host):\(port)", forKey: .tcp)
        case .labgrid(let name, _):
            try c.encode(true, forKey: .labgrid)
            if !name.isEmpty { try c.encode(name, forKey: .device) }
        case .command(let command): try c.encode(command.word, forKey: .command)
        default:
            try c.encodeIfPresent(location.device, forKey: .device)
            try c.encodeIfPresent(location.match, forKey: .match)
        }
        try c.encode(baud, forKey: .baud)
        try c.encodeIfPresent(ready, forKey: .ready)
        try c.encode(readyTimeout, forKey: .readyTimeout)
    }
}

extension ConfigLoader {
    /// The `link:` block: where the RPMsg tty is, and the setup commands before it opens.
    /// - labgrid: the board file names a labgrid place: a device path without `ssh:` is on the
    ///   place's board.
    static func parseLink(_ linkNode: YAMLReader, labgrid: Bool = false) throws(ConfigError) -> LinkConfig {
        let lm = try linkNode.mapping(allowed: ["device", "match", "ssh", "ssh_options", "setup", "setup_timeout"])
        var setup: [String] = []
        if let s = lm.optional("setup") { for item in try s.sequence() { setup.append(try item.string()) } }
        let setupTimeout = try lm.optional("setup_timeout")?.duration(atLeast: ConfigLoader.Limits.timeout) ?? .seconds(30)
        if let sshNode = lm.optional("ssh") {
            return LinkConfig(location: .ssh(try parseSshTarget(lm, sshNode, in: linkNode)), setup: setup, setupTimeout: setupTimeout)
        }
        if labgrid {
            // The place's NetworkService gives the address: the same checks as an ssh link's.
            let target = try parseSshTarget(lm, nil, in: linkNode)
            return LinkConfig(location: .labgrid(target.device, sshOptions: target.options), setup: setup, setupTimeout: setupTimeout)
        }
        if lm.optional("ssh_options") != nil { throw lm.keyError("ssh_options", "ssh_options go with ssh: (the board's address); this link is not over ssh") }
        var device = ""
        if let deviceNode = lm.optional("device") {
            device = try deviceNode.string()
            if device != DeviceLocation.simulatedKeyword && !device.hasPrefix("/") {
                throw deviceNode.error("expected an absolute device path such as /dev/ttyRPMSG30 (or a glob such as /dev/ttyRPMSG*), or 'sim', found '\(device)'")
            }
        }
        let linkMatch = try lm.optional("match").map { node throws(ConfigError) in try udevProperties(node) }
        if device.isEmpty && linkMatch == nil { throw linkNode.error("give the RPMsg tty's device path (or glob), or a udev match") }
        if !device.isEmpty && linkMatch != nil { throw lm.keyError("match", "give either device or match, not both") }
        return LinkConfig(location: DeviceLocation(device: device, match: linkMatch), setup: setup, setupTimeout: setupTimeout)
    }

    /// `ssh:`, `device:` and `ssh_options:` of a `link:` block that reaches the board over ssh.
    /// - sshNode: nil for a labgrid place's board, whose address comes from the place.
    private static func parseSshTarget(_ lm: YAMLMapping, _ sshNode: YAMLReader?, in linkNode: YAMLReader) throws(ConfigError) -> SshTarget {
        let destination = try sshNode?.string() ?? ""
        // ssh would take a leading '-' as an option, and an empty one as no destination at all.
        if let sshNode, destination.isEmpty || destination.hasPrefix("-") || destination.contains(where: \.isWhitespace) {
            throw sshNode.error("expected the board's ssh destination such as root@imx8mp-01, found '\(destination)'")
        }
        if lm.optional("match") != nil { throw lm.keyError("match", "a udev match finds a device on this machine; over ssh give the tty's path on the board as device") }
        guard let deviceNode = lm.optional("device") else {
            throw linkNode.error("ssh needs device: the RPMsg tty's path on the board, such as /dev/ttyRPMSG30")
        }
        let device = try deviceNode.string()
        if !device.hasPrefix("/") {
            throw deviceNode.error("expected the absolute path of the tty on the board such as /dev/ttyRPMSG30, found '\(device)'")
        }
        // A glob is resolved by the board's shell, unquoted: only characters that mean nothing
        // else to sh may be in it.
        if SshTarget.isGlob(device), let bad = device.first(where: { !SshTarget.globCharacters.contains($0) }) {
            throw deviceNode.error("a glob on the board may hold only letters, digits, / _ . - and * ? [ ], found '\(bad)' in '\(device)'")
        }
        var options: [String] = []
        if let o = lm.optional("ssh_options") { for item in try o.sequence() { options.append(try item.string()) } }
        return SshTarget(destination: destination, device: device, options: options)
    }

    /// The `uart:` block: the M7 debug UART, its speed and its ready line.
    /// `host:port`, the port 1-65535; nil otherwise.
    public static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, !host.hasPrefix("-"), !host.contains(where: \.isWhitespace) else { return nil }
        return (host, port)
    }

    /// - labgrid: the board file names a labgrid place: a UART without a device is the place's
    ///   NetworkSerialPort.
    static func parseUart(_ u: YAMLReader, simulated: Bool, labgrid: Bool = false) throws(ConfigError) -> UartConfig {
        let um = try u.mapping(allowed: ["device", "match", "tcp", "command", "baud", "ready", "ready_timeout"])
        var tcp: DeviceLocation?
        if let t = um.optional("tcp") {
            guard let (host, port) = hostPort(try t.string()) else { throw t.error("expected host:port of a serial port served over TCP (ser2net), such as exporter-01:5001") }
            if um.has("device") || um.has("match") || um.has("command") { throw um.keyError("tcp", "give one of device, match, command or tcp") }
            tcp = .tcp(host: host, port: port)
        }
        var uartDevice: String?
        if let d = um.optional("device") {
            let dev = try d.string()
            if dev == DeviceLocation.simulatedKeyword && !simulated {
                throw d.error("'sim' is the simulated board's UART; this board's link is not simulated")
            }
            if dev != DeviceLocation.simulatedKeyword && !dev.hasPrefix("/") {
                throw d.error("expected an absolute path such as /dev/ttyUSB2 (or a glob such as /dev/serial/by-id/usb-FTDI*-if02-port0), or 'sim'")
            }
            uartDevice = dev
        }
        let uartMatch = try um.optional("match").map { node throws(ConfigError) in try udevProperties(node) }
        var ready: String?
        if let r = um.optional("ready") {
            let pattern = try r.string()
            if (try? NSRegularExpression(pattern: pattern)) == nil { throw r.error("the pattern does not compile as a regular expression") }
            ready = pattern
        }
        let readyTimeout = try um.optional("ready_timeout")?.duration(atLeast: ConfigLoader.Limits.timeout) ?? .seconds(30)
        if uartDevice != nil && uartMatch != nil { throw um.keyError("match", "give either device or match, not both") }
        let location: DeviceLocation
        if let tcp {
            location = tcp
        } else if let commandNode = um.optional("command") {
            // The console through a command: telnet to a serial server, LAVA's connection command.
            let command = try commandNode.string()
            if command.allSatisfy(\.isWhitespace) {
                throw commandNode.error("expected a shell command whose output is the UART (such as telnet localhost 7001), or 'lava' for $\(LavaEnvironment.connection)")
            }
            if uartDevice != nil || uartMatch != nil { throw um.keyError("command", "give one of device, match or command") }
            location = .command(ConsoleCommand(command))
        } else if uartDevice == nil && uartMatch == nil {
            guard labgrid else { throw u.error("give the UART's device path, a udev match, tcp: host:port, or a command whose output it is") }
            location = .labgrid("", sshOptions: [])
        } else {
            location = DeviceLocation(device: uartDevice, match: uartMatch)
        }
        var uart = UartConfig(location: location, baud: 115_200, ready: ready, readyTimeout: readyTimeout)
        if let b = um.optional("baud") {
            uart.baud = try ConfigLoader.standardBaud(b)
        }
        return uart
    }
}
