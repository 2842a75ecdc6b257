/// Drops telnet protocol bytes from a console's byte stream (a serial server spoken to by a
/// command that does not speak telnet itself, `nc host 7001`), before the LineSplitter:
/// - IAC IAC (0xFF 0xFF) is one data byte 0xFF;
/// - IAC WILL/WONT/DO/DONT (0xFB-0xFE) and its option byte: the triplet is dropped;
/// - IAC SB ... IAC SE (a sub-negotiation) is dropped whole;
/// - IAC and any other command byte (NOP, GA, BRK, ...) is dropped.
/// Sequences split across reads are followed. Nothing is answered: a console only listens.
/// Pure and not thread-safe (one per reader).
public struct TelnetFilter: Sendable {
    public static let iac: UInt8 = 0xFF
    static let se: UInt8 = 0xF0, sb: UInt8 = 0xFA, will: UInt8 = 0xFB

    private enum State: Sendable { case data, command, option, subnegotiation, subnegotiationIAC }
    private var state = State.data

    public init() {}

    /// The data bytes of `bytes`, without the telnet commands.
    public mutating func filter<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for b in bytes {
            switch state {
            case .data:
                if b == Self.iac { state = .command } else { out.append(b) }
            case .command:
                switch b {
                case Self.iac: out.append(b); state = .data
                case Self.will...0xFE: state = .option
                case Self.sb: state = .subnegotiation
                default: state = .data
                }
            case .option:
                state = .data
            case .subnegotiation:
                if b == Self.iac { state = .subnegotiationIAC }
            case .subnegotiationIAC:
                state = b == Self.se ? .data : .subnegotiation
            }
        }
        return out
    }

    /// Back to plain data (a new connection).
    public mutating func reset() { state = .data }
}
