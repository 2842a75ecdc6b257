import Foundation
import Glibc
import SoakCore

/// The M7 debug UART: a serial port read line by line on its own thread.
///
/// Opens `path` as a `TtyDevice`, read-only: exclusive (TIOCEXCL, as TtyLink does; root is not
/// stopped by it), raw 8N1 without flow control, keeping what arrived before the open (a boot
/// banner), at `baud`. Then it polls (ppoll, 100 ms so `stop()` is prompt), reads,
/// stamps each read with MonotonicClock.read() right after read(2) returns, and splits lines
/// with `LineSplitter` (each line carries the time of the read that brought its first byte).
///
/// A hang-up (POLLHUP with nothing left to read, a zero read, EIO, ENODEV, any other read
/// error) flushes the partial line, notices `.lost("<device>: <reason>")`, closes, and retries
/// opening the same path every 250 ms; a path that is (again) openable — for example a symlink now
/// pointing to a new pty — is the device back: `.opened(path)`. A path that cannot be opened at
/// start notices `.lost("<path> does not exist")` (or the open error) once and keeps retrying.
///
/// The lines and notices go to the sink only: a run writes `uart.log` from there (LineLog).
public final class SerialLineSource: LineSource, @unchecked Sendable {
    public let source: SourceLine.Source = .uart
    public let path: String
    public let baud: Int
    public let maxLineLength: Int

    /// How long to wait between attempts to reopen a lost or missing port.
    public static let reopenInterval: UInt64 = 250_000_000
    /// The baud rates soak_tty_set_baud accepts.
    public static let standardBauds: [Int] = [
        1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 500_000, 576_000,
        921_600, 1_000_000, 1_152_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000, 3_500_000, 4_000_000,
    ]

    /// Where the port is: looked up again at every (re)open.
    private let device: DeviceSpec
    private let reader = ReaderSlot()

    /// - Parameters:
    ///   - path: the tty (or a symlink to it), e.g. /dev/ttyUSB2.
    ///   - baud: one of `standardBauds`; another value makes every open fail with EINVAL
    ///     (reported as `.lost`).
    public convenience init(path: String, baud: Int = 115_200, maxLineLength: Int = LineSplitter.defaultMaxLength) {
        self.init(device: .path(path), baud: baud, maxLineLength: maxLineLength)
    }

    /// A port found by udev properties (a board file's `match:`, e.g. `ID_SERIAL_SHORT` and
    /// `ID_USB_INTERFACE_NUM`), looked up again at every (re)open, so an adapter that comes back
    /// under another name (ttyUSB2 → ttyUSB3) is still found. No match, or several, is reported
    /// as `.lost(<why>)` and retried; `.opened(<device node>)` names the node found. `path` is
    /// then a description of the match.
    public convenience init(match properties: [String: String], baud: Int = 115_200,
                            maxLineLength: Int = LineSplitter.defaultMaxLength) {
        self.init(device: .match(properties), baud: baud, maxLineLength: maxLineLength)
    }

    /// A port by path, glob (`/dev/serial/by-id/usb-FTDI*-if02-port0`: exactly one must match)
    /// or udev match, looked up again at every (re)open. `path` is its description.
    public init(device: DeviceSpec, baud: Int = 115_200, maxLineLength: Int = LineSplitter.defaultMaxLength) {
        self.path = device.description
        self.device = device
        self.baud = baud
        self.maxLineLength = maxLineLength
    }

    deinit {
        stop()
    }

    /// Starts the reader thread (a second call while running does nothing).
    public func start(into sink: LineSink) {
        reader.start(name: "uart \(path)") { [self] t in run(t, sink) }
    }

    /// Stops the reader: the partial line is delivered, the port closed; returns when the
    /// thread has ended (within about 100 ms), after which the sink is not called again.
    public func stop() {
        reader.stop()
    }

    // MARK: - The reader thread

    private func run(_ t: ReaderThread, _ sink: LineSink) {
        var splitter = LineSplitter(source: .uart, maxLength: maxLineLength)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }
        var port: TtyDevice?
        var device = path
        var lostReported = false
        let deliver: (SourceLine) -> Void = { line in sink.line(line) }
        func notice(_ n: SourceNotice, at: UInt64) { sink.notice(.uart, n, at: at) }
        func hangUp(_ reason: String, at: UInt64) {
            if let line = splitter.flush() { deliver(line) }
            port?.close()
            port = nil
            notice(.lost("\(device): \(reason)"), at: at)
            lostReported = true
        }
        defer {
            if let line = splitter.flush() { deliver(line) }
            port?.close()
        }

        while !t.isStopping {
            guard let open = port else {
                switch openPort() {
                case .success(let (opened, node)):
                    port = opened
                    device = node
                    splitter.reset()
                    lostReported = false
                    notice(.opened(node), at: MonotonicClock.read())
                case .failure(let why):
                    if !lostReported {
                        notice(.lost(why.text), at: MonotonicClock.read())
                        lostReported = true
                    }
                    if !t.sleep(Self.reopenInterval) { return }
                }
                continue
            }

            let events = (try? open.fd.poll(for: .readable, timeout: 100_000_000)) ?? []
            if events.isEmpty { continue }
            let hungUp = !events.isDisjoint(with: [.hangup, .error, .invalid])
            let n: Int
            do {
                n = try open.fd.read(into: buffer)
            } catch {
                let at = MonotonicClock.read()
                if error == .wouldBlock {
                    if hungUp {
                        hangUp("hang-up (POLLHUP)", at: at)
                        if !t.sleep(Self.reopenInterval) { return }
                    }
                    continue
                }
                // The UART is evidence, not the link: whatever the errno, reopen and keep listening.
                hangUp("read failed: \(error)", at: at)
                if !t.sleep(Self.reopenInterval) { return }
                continue
            }
            let at = MonotonicClock.read()
            if n > 0 {
                splitter.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: at, deliver)
                continue
            }
            hangUp("end of file (the device went away)", at: at)
            if !t.sleep(Self.reopenInterval) { return }
        }
    }

    private struct OpenFailure: Error { var text: String }

    /// The udev lookup (when matching), then the tty open sequence (read-only, input kept,
    /// baud set); the port and the node opened, or why not.
    private func openPort() -> Result<(TtyDevice, String), OpenFailure> {
        var path = self.path
        switch device {
        case .path(let p): path = p
        case .glob, .match:
            switch DeviceLocator.find(device) {
            case .success(let node): path = node
            case .failure(let why): return .failure(OpenFailure(text: why.text))
            }
        }
        do {
            return .success((try TtyDevice.open(path, .readOnly, keepingInput: true, baud: baud), path))
        } catch {
            switch error.step {
            case .open where error.errno == .noSuchFileOrDirectory:
                return .failure(OpenFailure(text: "\(path) does not exist"))
            case .open:
                return .failure(OpenFailure(text: "cannot open \(path): \(error.errno)"))
            default:
                return .failure(OpenFailure(text: "\(path): \(error.what): \(error.errno)"))
            }
        }
    }
}
