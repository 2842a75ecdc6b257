/// The NXP `rpmsg_lite_str_echo_rtos` firmware as seen from outside, with the Linux
/// `imx_rpmsg_tty` driver in front of it. Pure logic over a clock: bytes in, UART text and
/// echoed bytes out, each at the time the real board would produce them.
///
/// - The driver cuts every write into rpmsg messages of at most 256 bytes (a pty does not keep
///   write boundaries, so the model cuts the byte stream it receives).
/// - The firmware queue holds 256 messages; a message arriving when it is full is dropped silently.
/// - For each message the firmware prints `Get Message From Master Side : "<text>" [len : <n>]`
///   (text cut at the first NUL, as `%s` does) on a UART that costs 10 bit times per byte, and
///   echoes the bytes only after the print: the UART bounds the echo rate.
public struct EchoFirmware {
    public static let chunkSize = 256
    public static let queueCapacity = 256
    public static let bootBanner = "\r\nRPMSG String Echo FreeRTOS RTOS API Demo...\r\n"
    public static let nameserviceBanner = "Nameservice sent, ready for incoming messages...\r\n"

    public enum Output: Equatable, Sendable {
        case uart(String)
        case echo([UInt8])
    }

    public let uartBaud: Int
    public private(set) var queue: [[UInt8]] = []
    public private(set) var droppedQueueFull: UInt64 = 0
    public private(set) var processed: UInt64 = 0
    public private(set) var halted = false
    private var busyUntil: UInt64?
    private var current: [UInt8]?
    private var currentDropped = false
    public var faults: [FaultModel] = []

    public init(uartBaud: Int) { self.uartBaud = uartBaud }

    /// The banners the firmware prints when it starts and announces its channel.
    public func boot() -> [Output] {
        [.uart(Self.bootBanner), .uart(Self.nameserviceBanner)]
    }

    /// Bytes that Linux wrote to the tty, arriving at the M7 as rpmsg messages.
    public mutating func receive(_ bytes: ArraySlice<UInt8>) {
        var rest = bytes
        while !rest.isEmpty {
            let chunk = rest.prefix(Self.chunkSize)
            rest = rest.dropFirst(chunk.count)
            if halted { continue }
            if queue.count >= Self.queueCapacity {
                droppedQueueFull += 1
            } else {
                queue.append(Array(chunk))
            }
        }
    }

    /// When `service` has something to do next; nil when idle.
    public var nextDue: UInt64? {
        if halted { return nil }
        if let b = busyUntil { return b }
        return queue.isEmpty ? nil : 0
    }

    /// Advances the firmware to `now`: finishes the message being printed (echoing it) and
    /// starts on the next ones.
    public mutating func service(now: UInt64) -> [Output] {
        var out: [Output] = []
        while !halted {
            if let until = busyUntil {
                guard now >= until else { break }
                if let msg = current, !currentDropped { out.append(.echo(msg)) }
                current = nil
                busyUntil = nil
                continue
            }
            guard !queue.isEmpty else { break }
            var msg = queue.removeFirst()
            let index = processed
            processed += 1
            var action = FaultAction.pass
            for f in faults {
                action = f.onMessage(&msg, index: index, now: now)
                if action != .pass { break }
            }
            if case .halt(let line) = action {
                halted = true
                queue.removeAll()
                if let line { out.append(.uart(line)) }
                break
            }
            let line = Self.uartLine(for: msg)
            out.append(.uart(line))
            current = msg
            currentDropped = action == .drop
            let start = max(now, 0)
            busyUntil = start &+ printCost(bytes: line.utf8.count)
        }
        return out
    }

    /// Time the debug UART needs for `bytes` characters at 8N1 (10 bit times each).
    public func printCost(bytes: Int) -> UInt64 {
        uartBaud > 0 ? UInt64(bytes) * 10 * 1_000_000_000 / UInt64(uartBaud) : 0
    }

    /// The line the NXP example prints for one received message.
    public static func uartLine(for msg: [UInt8]) -> String {
        if msg == [0x0D, 0x0A] { return "Get New Line From Master Side\r\n" }
        let text = msg.prefix { $0 != 0 }
        return "Get Message From Master Side : \"\(String(decoding: text, as: UTF8.self))\" [len : \(msg.count)]\r\n"
    }
}
