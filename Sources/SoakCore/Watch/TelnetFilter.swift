/// Takes telnet's commands out of a byte stream (RFC 854; ser2net's RFC 2217 negotiation at
/// the start of a labgrid NetworkSerialPort, a LAVA connection command such as `nc host 7001`).
/// Nothing is answered: a console only listens: `IAC IAC` is one 0xFF of data, `IAC WILL|WONT|
/// DO|DONT option` and `IAC SB ... IAC SE` are dropped, any other `IAC x` is a two-byte
/// command. A command split across reads is carried over. No allocation: data bytes are
/// compacted in place.
public struct TelnetFilter: Sendable {
    static let iac: UInt8 = 0xFF, sb: UInt8 = 0xFA, se: UInt8 = 0xF0
    private enum State: Sendable { case data, command, option, subnegotiation, subnegotiationCommand }
    private var state = State.data

    public init() {}

    /// Filters `buffer[0..<count]` in place; returns how many data bytes are left at its start.
    public mutating func filter(_ buffer: UnsafeMutableRawBufferPointer, count: Int) -> Int {
        var out = 0
        for i in 0..<count {
            let b = buffer[i]
            switch state {
            case .data:
                if b == Self.iac { state = .command } else { buffer[out] = b; out += 1 }
            case .command:
                switch b {
                case Self.iac: buffer[out] = b; out += 1; state = .data
                case 0xFB...0xFE: state = .option  // WILL, WONT, DO, DONT
                case Self.sb: state = .subnegotiation
                default: state = .data
                }
            case .option: state = .data
            case .subnegotiation: if b == Self.iac { state = .subnegotiationCommand }
            case .subnegotiationCommand: state = b == Self.se ? .data : .subnegotiation
            }
        }
        return out
    }

    /// The data bytes of `bytes`, without the telnet commands (a copy; `filter(_:count:)`
    /// works in place).
    public mutating func filter<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var out = Array(bytes)
        let n = out.withUnsafeMutableBytes { filter($0, count: $0.count) }
        out.removeLast(out.count - n)
        return out
    }

    /// A new connection starts in data.
    public mutating func reset() { state = .data }
}
