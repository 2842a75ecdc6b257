/// Takes telnet's commands out of a byte stream (RFC 854; ser2net's RFC 2217 negotiation at
/// the start of a labgrid NetworkSerialPort): `IAC IAC` is one 0xFF of data, `IAC WILL|WONT|
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

    /// A new connection starts in data.
    public mutating func reset() { state = .data }
}
