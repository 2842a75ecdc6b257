import Glibc
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
