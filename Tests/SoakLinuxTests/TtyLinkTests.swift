import CPosix
import Foundation
import Glibc
import SoakCore
@testable import SoakLinux
import Testing

/// The real tty layer on real pseudo-terminals: the pty starts in the kernel's cooked mode, as
/// the NXP imx_rpmsg_tty node does, and the link must make it raw and exclusive.
struct TtyLinkTests {
    @Test func openingPutsTheTtyIntoRawExclusiveMode() throws {
        let pty = try PseudoTerminal()
        let link = try TtyLink(path: pty.slavePath)
        defer { link.close() }
        var iflag: UInt32 = 0, oflag: UInt32 = 0, lflag: UInt32 = 0
        let fd = open(pty.slavePath, O_RDWR | O_NOCTTY)  // root may open an exclusive tty
        defer { close(fd) }
        #expect(soak_tty_flags(fd, &iflag, &oflag, &lflag) == 0)
        #expect(lflag & UInt32(ECHO | ICANON | ISIG | IEXTEN) == 0, "no echo, no line editing")
        #expect(iflag & UInt32(ICRNL | IXON | IXOFF | INLCR | IGNCR) == 0, "no CR/LF translation, no flow control")
        #expect(oflag & UInt32(OPOST) == 0, "no output processing (ONLCR)")
        #expect(soak_tty_is_exclusive(fd) == 1, "TIOCEXCL set")
    }

    @Test func bytesCrossUnchangedBothWays() throws {
        let pty = try PseudoTerminal()
        let link = try TtyLink(path: pty.slavePath)
        defer { link.close() }
        let sent: [UInt8] = [0x0A, 0x0D, 0x00, 0x03, 0x11, 0x13, 0x7F, 0xFF, 0x41]
        guard case .done(let n, _) = sent.withUnsafeBytes({ link.write($0) }) else { Issue.record("write failed"); return }
        #expect(n == sent.count)
        var got = [UInt8](repeating: 0, count: 64)
        usleep(50_000)
        let m = pty.readAvailable(into: &got)
        #expect(Array(got[0..<m]) == sent, "the device sees exactly what was written")

        #expect(pty.writeSome(sent[...]) == sent.count)
        #expect(link.wait(forWrite: false, timeout: 1_000_000_000).readable)
        var back = [UInt8](repeating: 0, count: 64)
        guard case .done(let k, let at) = back.withUnsafeMutableBytes({ link.read(into: $0) }) else { Issue.record("read failed"); return }
        #expect(Array(back[0..<k]) == sent, "the tester reads exactly what the device sent, no local echo")
        #expect(at > 0)
    }

    @Test func aVanishingDeviceIsAHangupNotABlockedCall() throws {
        let pty = try PseudoTerminal()
        let link = try TtyLink(path: pty.slavePath)
        defer { link.close() }
        pty.close()
        let ready = link.wait(forWrite: false, timeout: 2_000_000_000)
        #expect(ready.hangup || ready.readable)
        var buf = [UInt8](repeating: 0, count: 16)
        let io = buf.withUnsafeMutableBytes { link.read(into: $0) }
        guard case .hangup(let why) = io else { Issue.record("expected a hang-up, got \(io)"); return }
        #expect(!why.isEmpty)
    }

    /// A descriptor that is still open but not for this direction gives EBADF, as one closed
    /// and reused behind the link's back would: the tester is broken, not the board, so the
    /// link must say `.failed` (an infrastructure error), never `.hangup` (which recovers the
    /// board). The same pty reopened write-only (root may open an exclusive tty) replaces the
    /// link's descriptor through dup2: atomic, so no other test's descriptor takes the number.
    @Test func aDescriptorBrokenBehindTheLinksBackIsAFailureNotAHangup() throws {
        let pty = try PseudoTerminal()
        let link = try TtyLink(path: pty.slavePath)
        defer { link.close() }
        let fd = try #require(link.device?.fd)
        let ttyOptions: FileDescriptor.OpenOptions = [.noControllingTerminal, .nonBlocking, .closeOnExec]

        let writeOnly = try FileDescriptor.open(pty.slavePath, .writeOnly, options: ttyOptions)
        try writeOnly.duplicate(as: fd)
        writeOnly.close()
        var buffer = [UInt8](repeating: 0, count: 16)
        let read = buffer.withUnsafeMutableBytes { link.read(into: $0) }
        #expect(read == .failed("read failed: Bad file descriptor (EBADF)"))

        let readOnly = try FileDescriptor.open(pty.slavePath, .readOnly, options: ttyOptions)
        try readOnly.duplicate(as: fd)
        readOnly.close()
        let write = buffer.withUnsafeBytes { link.write($0) }
        #expect(write == .failed("write failed: Bad file descriptor (EBADF)"))
    }

    @Test func onlyErrnosThatMeanTheDeviceLeftAreHangups() {
        for e in [Errno.ioError, .noSuchDevice, .noSuchAddressOrDevice] {
            guard case .hangup = TtyLink.kind(of: e, "read failed") else { Issue.record("\(e) is a hang-up"); continue }
        }
        for e in [Errno.badFileDescriptor, .badAddress, .invalidArgument, .noMemory, .notATerminal] {
            guard case .failed = TtyLink.kind(of: e, "read failed") else { Issue.record("\(e) is not a hang-up"); continue }
        }
    }

    @Test func openingAMissingDeviceNamesItAfterTheTimeout() throws {
        let path = "/tmp/rpmsg-soak-no-such-tty-\(getpid())"
        let start = MonotonicClock.read()
        #expect {
            _ = try TtyLink.open(path: path, timeout: .milliseconds(200))
        } throws: { error in
            "\(error)".contains(path) && "\(error)".contains("does not exist")
        }
        #expect(MonotonicClock.read() - start >= 200_000_000, "it kept trying until the timeout")
    }

    @Test func aDeviceThatAppearsLateIsOpenedWithinTheTimeout() throws {
        let pty = try PseudoTerminal()
        let path = "/tmp/rpmsg-soak-late-tty-\(getpid())"
        unlink(path)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { symlink(pty.slavePath, path) }
        defer { unlink(path) }
        let link = try TtyLink.open(path: path, timeout: .seconds(5))
        link.close()
    }

    @Test func aFileThatIsNotATtyIsRefused() throws {
        let path = "/tmp/rpmsg-soak-not-a-tty-\(getpid())"
        _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
        defer { unlink(path) }
        #expect { _ = try TtyLink(path: path) } throws: { "\($0)".contains("not a tty") }
    }

    @Test func setupCommandFailureNamesTheCommandAndItsOutput() throws {
        #expect {
            try SetupCommands.run(["true", "echo nope >&2; exit 3"], timeout: .seconds(5))
        } throws: { error in
            let text = "\(error)"
            return text.contains("exit 3") && text.contains("exit status 3") && text.contains("nope")
        }
        #expect {
            try SetupCommands.run(["sleep 5"], timeout: .milliseconds(200))
        } throws: { "\($0)".contains("still running") }
    }

    @Test func buildLinksLibgpiodAndLibudev() {
        #expect([1, 2].contains(LibraryVersions.gpiodAPI))
        #expect(!LibraryVersions.gpiod.isEmpty)
        #expect(LibraryVersions.udevAvailable)
    }
}
