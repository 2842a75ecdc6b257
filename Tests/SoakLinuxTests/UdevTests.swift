import Dispatch
import Foundation
import Glibc
import SoakCore
import SoakLinux
import Testing

/// libudev enumeration on this machine's real tty devices (no udevd here: kernel properties
/// only).
struct UdevTests {
    private var expected: String? {
        ["/dev/ttyS0", "/dev/tty0"].first { access($0, F_OK) == 0 }
    }

    @Test func enumeratingTtysFindsARealConsoleWithKernelProperties() throws {
        let node = try #require(expected, "this machine has /dev/ttyS0 or /dev/tty0")
        let all = UdevMatch.devices(subsystem: "tty")
        let found = try #require(all.first { $0.devnode == node }, "\(node) among \(all.count) ttys")
        #expect(found.properties["DEVNAME"] == node)
        #expect(found.properties["SUBSYSTEM"] == "tty")
        #expect(found.properties["MAJOR"] != nil && found.properties["MINOR"] != nil)
        #expect(all.map(\.devnode) == all.map(\.devnode).sorted())
    }

    @Test func propertiesAreAndedAndGlobbed() throws {
        let node = try #require(expected)
        let all = UdevMatch.devices(subsystem: "tty")
        let props = try #require(all.first { $0.devnode == node }?.properties)
        let exact = UdevMatch.devices(subsystem: "tty", properties: ["MAJOR": props["MAJOR"]!, "MINOR": props["MINOR"]!])
        #expect(exact.map(\.devnode) == [node])
        #expect(UdevMatch.uniqueDevnode(subsystem: "tty", properties: ["DEVNAME": node]) == .success(node))

        let globbed = UdevMatch.devices(subsystem: "tty", properties: ["DEVNAME": "/dev/tty*"])
        #expect(globbed.count > 1 && globbed.allSatisfy { $0.devnode.hasPrefix("/dev/tty") })
        guard case .failure(let several) = UdevMatch.uniqueDevnode(subsystem: "tty", properties: ["DEVNAME": "/dev/tty*"]) else {
            Issue.record("a glob over many ttys is not unique"); return
        }
        #expect(several.text.contains("devices match DEVNAME=/dev/tty*"))
    }

    @Test func aMatchThatMatchesNothingIsEmpty() {
        #expect(UdevMatch.devices(subsystem: "tty", properties: ["ID_SERIAL_SHORT": "FT4232H-NOPE"]).isEmpty)
        #expect(UdevMatch.devices(subsystem: "tty", properties: ["MAJOR": "4", "DEVNAME": "/dev/no-such-tty"]).isEmpty,
                "all properties must match, not any")
        #expect(UdevMatch.devices(subsystem: "no-such-subsystem").isEmpty)
        #expect(UdevMatch.uniqueDevnode(subsystem: "tty", properties: ["ID_SERIAL_SHORT": "X"])
                == .failure(UdevMatchError(text: "no tty device matches ID_SERIAL_SHORT=X")))
    }
}

/// DeviceLocator on this machine's real devices: paths, globs, and udev matches.
struct DeviceLocatorTests {
    @Test func findsByPathGlobAndUdevMatch() throws {
        let candidates: [String] = ["/dev/ttyS0", "/dev/tty0"]
        let node = try #require(candidates.first { access($0, F_OK) == 0 })
        #expect(DeviceLocator.find(.path(node)) == .success(node))
        #expect(DeviceLocator.find(.glob(node.replacingOccurrences(of: "0", with: "[0]"))) == .success(node))
        #expect(DeviceLocator.find(.match(["DEVNAME": node])) == .success(node))
        guard case .failure(let e) = DeviceLocator.find(.glob("/dev/tty*")) else {
            Issue.record("a glob matching many ttys is an error")
            return
        }
        #expect(e.text.contains("devices match /dev/tty*") && e.text.contains("name one"), "\(e)")
        guard case .failure(let none) = DeviceLocator.find(.path("/dev/ttyRPMSG-none")) else {
            Issue.record("a missing path is an error")
            return
        }
        #expect(none.text == "/dev/ttyRPMSG-none does not exist")
    }

    @Test func waitsForAPathThatAppearsAndGivesUpAtTheDeadline() throws {
        let dir = "/tmp/rpmsg-soak-locator-\(getpid())"
        mkdir(dir, 0o755)
        defer { unlink("\(dir)/ttyRPMSG30"); rmdir(dir) }
        let started = DispatchTime.now()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { _ = symlink("/dev/null", "\(dir)/ttyRPMSG30") }
        #expect(DeviceLocator.wait(.glob("\(dir)/ttyRPMSG*"), timeout: .seconds(5)) == .success("\(dir)/ttyRPMSG30"))
        #expect(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds >= 300_000_000)
        guard case .failure = DeviceLocator.wait(.path("\(dir)/never"), timeout: .milliseconds(100)) else {
            Issue.record("a path that never appears is an error")
            return
        }
    }
}
