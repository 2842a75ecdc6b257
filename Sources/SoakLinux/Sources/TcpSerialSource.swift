import Foundation
import Glibc
import SoakCore

/// The M7 debug UART served over TCP: a labgrid NetworkSerialPort (ser2net on the exporter, raw
/// or telnet/RFC 2217), or any `uart: {tcp: host:port}`. Read line by line on its own thread,
/// telnet commands taken out (`TelnetFilter`), each read stamped right after it returns. When
/// the connection ends (ser2net restarted, the USB adapter re-enumerated by a power cycle) the
/// partial line is delivered, `.lost` is noticed once, and it connects again every 500 ms;
/// `.opened("host:port")` each time it is connected.
public final class TcpSerialSource: LineSource, @unchecked Sendable {
    public let source: SourceLine.Source = .uart
    public let host: String
    public let port: Int
    public static let reconnectInterval: UInt64 = 500_000_000
    private let reader = ReaderSlot()

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    deinit { stop() }

    public func start(into sink: LineSink) {
        reader.start(name: "uart tcp \(host):\(port)") { [self] t in run(t, sink) }
    }

    /// Returns when the thread has ended (within about 100 ms).
    public func stop() { reader.stop() }

    private func run(_ t: ReaderThread, _ sink: LineSink) {
        var splitter = LineSplitter(source: .uart)
        var telnet = TelnetFilter()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }
        var connection: FileDescriptor?
        var lostReported = false
        let name = "\(host):\(port)"
        func lost(_ why: String) {
            if let line = splitter.flush() { sink.line(line) }
            connection?.close()
            connection = nil
            if !lostReported { sink.notice(.uart, .lost("\(name): \(why); connecting again"), at: MonotonicClock.read()) }
            lostReported = true
        }
        defer {
            if let line = splitter.flush() { sink.line(line) }
            connection?.close()
        }
        while !t.isStopping {
            guard let c = connection else {
                do {
                    connection = try FileDescriptor.connectTCP(host: host, port: port, timeout: 2_000_000_000)
                    splitter.reset()
                    telnet.reset()
                    lostReported = false
                    sink.notice(.uart, .opened(name), at: MonotonicClock.read())
                } catch {
                    lost(error.description)
                    if !t.sleep(Self.reconnectInterval) { return }
                }
                continue
            }
            guard let events = try? c.poll(for: .readable, timeout: 100_000_000), !events.isEmpty else { continue }
            let n: Int
            do {
                n = try c.receiveNow(into: buffer)
            } catch {
                if error == .wouldBlock { continue }
                lost("read failed: \(error)")
                if !t.sleep(Self.reconnectInterval) { return }
                continue
            }
            let at = MonotonicClock.read()
            guard n > 0 else {
                lost("the server closed the connection")
                if !t.sleep(Self.reconnectInterval) { return }
                continue
            }
            let kept = telnet.filter(buffer, count: n)
            if kept > 0 { splitter.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<kept]), at: at) { sink.line($0) } }
        }
    }
}
