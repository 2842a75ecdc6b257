import Foundation
import Glibc
import SoakCore

/// The ssh round trip to a remote board, measured beside the soak: one ssh session through the
/// run's master connection runs `cat` on the board, and once per `period` one byte goes out
/// and its echo is timed. The session rides the same TCP connection as the link, so it waits
/// behind the link's bytes as an echo does: it shows what the network and ssh add to every
/// RPMsg round trip, and when the network, not the M7, was slow.
///
/// On the board only `cat` runs. While the board is unreachable (powered off in a recovery) no
/// round trip is measured; the session is started again once ssh answers.
public final class SshRoundTripProbe: NetworkProbe, @unchecked Sendable {
    public let connection: SshConnection
    /// How often a byte is sent.
    public let period: UInt64
    /// A byte not echoed within this is given up (the session is restarted); not a sample.
    public let giveUpAfter: UInt64

    private let lock = NSLock()
    private var histogram = IntervalHistogram()
    private let reader = ReaderSlot()

    public init(connection: SshConnection, period: UInt64 = 1_000_000_000, giveUpAfter: UInt64 = 10_000_000_000) {
        self.connection = connection
        self.period = period
        self.giveUpAfter = giveUpAfter
    }

    deinit { stop() }

    public func start() {
        reader.start(name: "ssh round trip \(connection.target.destination)") { [self] t in run(t) }
    }

    /// Returns when the thread has ended and its ssh session is gone.
    public func stop() { reader.stop() }

    public func takeRoundTrips() -> SparseBuckets? {
        lock.withLock {
            guard histogram.totalCount > 0 else { return nil }
            defer { histogram.reset() }
            return histogram.sparseBuckets
        }
    }

    /// One session on the board: our end of the socket pair and the ssh process.
    private struct Session {
        var socket: FileDescriptor
        var process: ChildProcess
        /// The first echo of a session includes starting `cat`: not a sample.
        var warm = false

        func end() {
            process.killAndReap()
            socket.close()
        }
    }

    private func run(_ t: ReaderThread) {
        var session: Session?
        defer { session?.end() }
        let ping: [UInt8] = [0x2E]
        var scratch = [UInt8](repeating: 0, count: 64)
        while !t.isStopping {
            if session == nil {
                session = open(t)
                if session == nil {
                    if !t.sleep(1_000_000_000) { return }
                    continue
                }
            }
            guard var s = session else { continue }
            let sentAt = MonotonicClock.read()
            let sent = (try? ping.withUnsafeBytes { (b) throws(Errno) in try s.socket.sendNow(b) }) ?? 0
            var echoedAt: UInt64?
            if sent == 1 {
                // Wait for the echo in slices, so stop() is prompt.
                while !t.isStopping, MonotonicClock.read() &- sentAt < giveUpAfter {
                    guard let events = try? s.socket.poll(for: .readable, timeout: 100_000_000) else { break }
                    if events.isEmpty { continue }
                    let n = (try? scratch.withUnsafeMutableBytes { (b) throws(Errno) in try s.socket.receiveNow(into: b) }) ?? 0
                    if n > 0 { echoedAt = MonotonicClock.read() }
                    break
                }
            }
            guard let echoedAt else {
                // No echo: the session or the connection is gone; start again.
                s.end()
                session = nil
                continue
            }
            if s.warm {
                let micros = max(1, min((echoedAt &- sentAt) / 1000, EchoVerifier.highestLatencyMicros))
                lock.withLock { histogram.record(micros) }
            }
            s.warm = true
            session = s
            let next = sentAt &+ period
            let now = MonotonicClock.read()
            if next > now, !t.sleep(next &- now) { return }
        }
    }

    /// Starts `cat` on the board through the master; nil when ssh does not answer now.
    private func open(_ t: ReaderThread) -> Session? {
        let deadline = MonotonicClock.read() &+ 5_000_000_000
        do throws(LinkOpenError) {
            try connection.startMaster(deadline: deadline, interrupted: { t.isStopping })
        } catch {
            return nil
        }
        guard let ends = try? FileDescriptor.socketPair() else { return nil }
        defer { ends.1.close() }
        guard let process = try? ChildProcess(SshConnection.ssh, connection.arguments(remote: "exec cat"),
                                              stdin: .descriptor(ends.1), stdout: .descriptor(ends.1), stderr: .null) else {
            ends.0.close()
            return nil
        }
        return Session(socket: ends.0, process: process)
    }
}
