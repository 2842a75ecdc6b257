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
        }
    }
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
    private enum CodingKeys: String, CodingKey { case device, match, setup, setupTimeout }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(location: DeviceLocation(device: try c.decode(String.self, forKey: .device),
                                           match: try c.decodeIfPresent([String: String].self, forKey: .match)),
                  setup: try c.decode([String].self, forKey: .setup),
                  setupTimeout: try c.decode(SoakDuration.self, forKey: .setupTimeout))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // Earlier versions always wrote the device, empty when a udev match finds it.
        try c.encode(location.device ?? "", forKey: .device)
        try c.encodeIfPresent(location.match, forKey: .match)
        try c.encode(setup, forKey: .setup)
        try c.encode(setupTimeout, forKey: .setupTimeout)
    }
}

extension UartConfig {
    private enum CodingKeys: String, CodingKey { case device, match, baud, ready, readyTimeout }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(location: DeviceLocation(device: try c.decodeIfPresent(String.self, forKey: .device),
                                           match: try c.decodeIfPresent([String: String].self, forKey: .match)),
                  baud: try c.decode(Int.self, forKey: .baud),
                  ready: try c.decodeIfPresent(String.self, forKey: .ready),
                  readyTimeout: try c.decodeIfPresent(SoakDuration.self, forKey: .readyTimeout) ?? .seconds(30))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(location.device, forKey: .device)
        try c.encodeIfPresent(location.match, forKey: .match)
        try c.encode(baud, forKey: .baud)
        try c.encodeIfPresent(ready, forKey: .ready)
        try c.encode(readyTimeout, forKey: .readyTimeout)
    }
}

extension ConfigLoader {
    /// The `link:` block: where the RPMsg tty is, and the setup commands before it opens.
    static func parseLink(_ linkNode: YAMLReader) throws(ConfigError) -> LinkConfig {
        let lm = try linkNode.mapping(allowed: ["device", "match", "setup", "setup_timeout"])
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
        var setup: [String] = []
        if let s = lm.optional("setup") { for item in try s.sequence() { setup.append(try item.string()) } }
        let setupTimeout = try lm.optional("setup_timeout")?.duration() ?? .seconds(30)
        return LinkConfig(location: DeviceLocation(device: device, match: linkMatch), setup: setup, setupTimeout: setupTimeout)
    }

    /// The `uart:` block: the M7 debug UART, its speed and its ready line.
    static func parseUart(_ u: YAMLReader, simulated: Bool) throws(ConfigError) -> UartConfig {
        let um = try u.mapping(allowed: ["device", "match", "baud", "ready", "ready_timeout"])
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
        let readyTimeout = try um.optional("ready_timeout")?.duration() ?? .seconds(30)
        if uartDevice == nil && uartMatch == nil { throw u.error("give the UART's device path or a udev match") }
        var uart = UartConfig(location: DeviceLocation(device: uartDevice, match: uartMatch), baud: 115_200,
                              ready: ready, readyTimeout: readyTimeout)
        if let b = um.optional("baud") {
            let baud = try b.int(50...4_000_000, what: "a baud rate")
            let standard = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600,
                            1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000]
            guard standard.contains(baud) else { throw b.error("\(baud) is not a standard baud rate") }
            uart.baud = baud
        }
        return uart
    }
}
