import CPosix
import Foundation
import Glibc
import SoakCore
@testable import SoakLinux
import TestSupport
import Testing

/// A write that sleeps in the kernel is cut short at its deadline. The NXP rpmsg tty sleeps in
/// write(2) whatever O_NONBLOCK says; a pty sleeps the same way when its descriptor is blocking
/// and nobody reads the other side, so this is the real kernel path of a held write.
struct HeldWriteTests {
    @Test func aWriteHeldInTheKernelReturnsAtItsDeadlineWithNothingWritten() async throws {
        let pty = try PseudoTerminal()
        let link = try TtyLink(path: pty.slavePath)
        defer { link.close() }
        // Blocking, as the rpmsg driver behaves: nobody reads the master, so the pty fills up
        // and the next write sleeps in the kernel.
        let fd = try #require(link.device?.fd.rawValue)
        #expect(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0)
        // Should the watchdog not work, the test must fail, not hang: after 10 s the other side
        // is read, which lets the held write finish (`.done`, not what is expected).
        let backstop = Thread {
            sleep(10)
            var sink = [UInt8](repeating: 0, count: 65_536)
            for _ in 0..<64 { _ = pty.readAvailable(into: &sink) }
        }
        backstop.start()
        let (result, waited) = try await offPool { () -> (LinkIO, Double) in
            let chunk = [UInt8](repeating: 0x41, count: 4096)
            for _ in 0..<10_000 {
                let started = MonotonicClock.read()
                let io = chunk.withUnsafeBytes { link.write($0, returningBy: started &+ 300_000_000) }
                let waited = Double(MonotonicClock.read() &- started) / 1e9
                if case .done = io, waited < 1 { continue }
                return (io, waited)
            }
            return (.failed("the pty never filled"), 0)
        }
        #expect(result == .wouldBlock, "the held write comes back as 'nothing written yet': \(result)")
        #expect(waited >= 0.29, "not before its deadline: \(waited) s")
    }

    @Test func aWriteThatIsNotHeldIsNotDisturbed() throws {
        let pty = try PseudoTerminal()
        let link = try TtyLink(path: pty.slavePath)
        defer { link.close() }
        let bytes: [UInt8] = Array("#R0000002a".utf8)
        for _ in 0..<100 {
            let io = bytes.withUnsafeBytes { link.write($0, returningBy: MonotonicClock.read() &+ 1_000_000_000) }
            guard case .done(let n, _) = io, n == bytes.count else { Issue.record("\(io)"); return }
            var buf = [UInt8](repeating: 0, count: 64)
            _ = pty.wait(forWrite: false, timeout: 1_000_000_000)
            #expect(pty.readAvailable(into: &buf) == bytes.count)
        }
    }
}
