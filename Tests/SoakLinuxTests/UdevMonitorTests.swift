import Foundation
import Glibc
import SoakCore
import SoakLinux
import TestSupport
import Testing

/// Real kernel uevents on this machine (no udevd needed): writing "change" to a tty's uevent
/// file makes the kernel send one.
struct UdevMonitorTests {
    static let canTrigger = getuid() == 0 && FileManager.default.isWritableFile(atPath: "/sys/class/tty/tty1/uevent")

    @Test(.enabled(if: canTrigger, "needs root and /sys/class/tty/tty1/uevent"))
    func aRealChangeEventArrives() throws {
        let monitor = try #require(UdevMonitor(subsystem: "tty"))
        try "change".write(toFile: "/sys/class/tty/tty1/uevent", atomically: false, encoding: .utf8)
        var seen: Uevent?
        let deadline = Date().addingTimeInterval(5)
        while seen == nil && Date() < deadline {
            if let e = monitor.next(timeout: 500_000_000), e.devpath.hasSuffix("/tty1") { seen = e }
        }
        let e = try #require(seen, "no uevent for tty1")
        #expect(e.action == "change")
        #expect(e.devnode == "/dev/tty1")
        #expect(e.properties["SUBSYSTEM"] == "tty")
    }

    @Test func nothingHappensIsNilAfterTheTimeout() throws {
        guard let monitor = UdevMonitor(subsystem: "rpmsg-soak-no-such-subsystem") else { return }
        let start = MonotonicClock.read()
        #expect(monitor.next(timeout: 200_000_000) == nil)
        #expect(MonotonicClock.read() - start >= 200_000_000)
    }

    @Test func waitingForAMatchThatIsAlreadyThereReturnsAtOnce() throws {
        guard FileManager.default.fileExists(atPath: "/dev/tty1") else { return }
        let r = DeviceWait.forMatch(subsystem: "tty", properties: ["DEVNAME": "/dev/tty1"], timeout: .seconds(1))
        #expect(r == .success("/dev/tty1"))
    }

    @Test func waitingForAMatchThatNeverComesNamesItAfterTheTimeout() {
        let r = DeviceWait.forMatch(subsystem: "tty", properties: ["ID_SERIAL_SHORT": "no-such-adapter"], timeout: .milliseconds(300))
        guard case .failure(let e) = r else { Issue.record("found \(r)"); return }
        #expect(e.text.contains("ID_SERIAL_SHORT=no-such-adapter"))
    }

    /// Ctrl-C during a power-on wait for a UART adapter that never comes back: the wait gives
    /// up at once, not at the end of its boot timeout.
    @Test func aWaitForAMatchThatNeverComesEndsSoonAfterAnInterrupt() {
        let flag = InterruptFlag()
        // Its own thread, as a signal handler is: Dispatch's pool is busy with the parallel tests.
        Thread.detachNewThread { usleep(300_000); flag.set() }
        let start = MonotonicClock.read()
        let r = DeviceLocator.wait(.match(["ID_SERIAL_SHORT": "no-such-adapter"]), timeout: .seconds(60),
                                   interrupted: { flag.isSet })
        let end = MonotonicClock.read()
        let waited = Double(end - start) / 1e9
        let afterInterrupt = Double(end &- flag.setAt) / 1e9
        guard case .failure(let e) = r else { Issue.record("found \(r)"); return }
        #expect(e.text.contains("ID_SERIAL_SHORT=no-such-adapter"))
        #expect(waited >= 0.25 && waited < 1, "returned after \(waited) s, \(afterInterrupt) s after the interrupt")
        #expect(afterInterrupt < 0.5, "returned \(afterInterrupt) s after the interrupt")
    }

    static let canAllocateVT = getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/tty0")
        && FileManager.default.fileExists(atPath: "/usr/bin/python3")

    /// A device that is not there yet: opening /dev/tty42 allocates virtual console 42, and the
    /// kernel adds /dev/vcs42 with a real "add" uevent; VT_DISALLOCATE removes it again.
    @Test(.enabled(if: canAllocateVT, "needs root, /dev/tty0 and python3"))
    func waitingForADeviceThatAppearsSeesItsRealAddEvent() async throws {
        @Sendable func python(_ code: String) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            p.arguments = ["-c", "import fcntl, os\n" + code]
            try p.run()
            p.waitUntilExit()
        }
        let disallocate = "fd = os.open('/dev/tty0', os.O_RDWR | os.O_NOCTTY); fcntl.ioctl(fd, 0x5608, 42)"  // VT_DISALLOCATE
        try python(disallocate)
        defer { try? python(disallocate) }
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/vc/vcs42"), "vc 42 is not allocated before the test")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
            try? python("os.close(os.open('/dev/tty42', os.O_RDWR | os.O_NOCTTY))")
        }
        let start = MonotonicClock.read()
        let r = try await offPool { DeviceWait.forMatch(subsystem: "vc", properties: ["DEVNAME": "/dev/vcs42"], timeout: .seconds(10)) }
        #expect(r == .success("/dev/vcs42"))
        let waited = Double(MonotonicClock.read() - start) / 1e9
        #expect(waited >= 0.4, "it was not there before: found after \(waited) s")
    }
}

/// A SIGINT flag as the command line keeps one: set from another thread.
private final class InterruptFlag: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var value = false
    nonisolated(unsafe) private var when: UInt64 = 0
    func set() { lock.withLock { value = true; when = MonotonicClock.read() } }
    var setAt: UInt64 { lock.withLock { when } }
    var isSet: Bool { lock.withLock { value } }
}
