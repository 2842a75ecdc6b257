import Foundation
import Glibc
import SoakLinux
import Testing

/// The typed system-call layer: errno texts as a user reads them, and EINTR never reaching a
/// caller.
struct SystemTests {
    @Test func errnoReadsAsStrerrorWithItsName() {
        #expect(Errno.noSuchDevice.description == "No such device (ENODEV)")
        #expect(Errno.badFileDescriptor.description == "Bad file descriptor (EBADF)")
        #expect(describeErrno(ENOENT) == "No such file or directory (ENOENT)")
        #expect(Errno(rawValue: EXDEV).description.hasSuffix("(errno \(EXDEV))"))
    }

    /// A signal handler installed without SA_RESTART makes a blocked read(2) fail with EINTR;
    /// FileDescriptor.read must retry and return the bytes that come after it.
    @Test func aReadInterruptedByASignalIsRetried() throws {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        action.sa_flags = 0  // no SA_RESTART: the kernel returns EINTR instead of restarting
        var previous = sigaction()
        sigaction(SIGUSR2, &action, &previous)
        defer { sigaction(SIGUSR2, &previous, nil) }

        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        defer { readEnd.close(); writeEnd.close() }
        let state = ReaderState()
        let thread = Thread {
            state.started(pthread_self())
            var byte: UInt8 = 0
            let result = Result { () throws(Errno) -> Int in
                try withUnsafeMutableBytes(of: &byte) { (b) throws(Errno) -> Int in try readEnd.read(into: b) }
            }
            state.finished(result.map { _ in byte })
        }
        thread.start()
        let reader = try #require(state.waitStarted())
        usleep(100_000)  // let it block in read(2)
        #expect(pthread_kill(reader, SIGUSR2) == 0)
        usleep(100_000)
        var x: UInt8 = 0x2A
        _ = try withUnsafeBytes(of: &x) { (b) throws(Errno) -> Int in try writeEnd.write(b) }
        let result = try #require(state.waitFinished())
        #expect(try result.get() == 0x2A, "the interrupted read went on and got the byte")
    }
}

private final class ReaderState: @unchecked Sendable {
    private let condition = NSCondition()
    private var thread: pthread_t?
    private var result: Result<UInt8, Errno>?

    func started(_ t: pthread_t) { condition.withLock { thread = t; condition.broadcast() } }
    func finished(_ r: Result<UInt8, Errno>) { condition.withLock { result = r; condition.broadcast() } }

    func waitStarted() -> pthread_t? {
        condition.withLock {
            let deadline = Date(timeIntervalSinceNow: 5)
            while thread == nil && condition.wait(until: deadline) {}
            return thread
        }
    }

    func waitFinished() -> Result<UInt8, Errno>? {
        condition.withLock {
            let deadline = Date(timeIntervalSinceNow: 5)
            while result == nil && condition.wait(until: deadline) {}
            return result
        }
    }
}
