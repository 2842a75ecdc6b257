import Foundation
import Glibc
import SoakCore
import SoakLinux
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
}
