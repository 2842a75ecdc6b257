import CUdev
import Glibc

/// Finds device nodes by udev properties, as a board file's `match:` does (labgrid style:
/// `ID_SERIAL_SHORT`, `ID_USB_INTERFACE_NUM`, `ID_PATH`, ...).
///
/// Uses libudev's enumerator (udev_enumerate_add_match_subsystem, udev_enumerate_scan_devices)
/// over sysfs, then reads each device's properties (udev_device_get_properties_list_entry).
/// Without udevd only the kernel's properties exist (DEVNAME, MAJOR, MINOR, SUBSYSTEM, DEVPATH);
/// the `ID_*` ones come from udevd's database when it runs.
public enum UdevMatch {
    /// Devices of `subsystem` that have a device node and ALL of `properties` (each value an
    /// fnmatch(3) pattern, so `ttyUSB*` works; an exact string matches itself), sorted by node.
    /// Empty when nothing matches or libudev cannot be used.
    public static func devices(subsystem: String, properties: [String: String] = [:])
        -> [(devnode: String, properties: [String: String])] {
        guard let udev = udev_new() else { return [] }
        defer { udev_unref(udev) }
        guard let enumerate = udev_enumerate_new(udev) else { return [] }
        defer { udev_enumerate_unref(enumerate) }
        // add_match_property would OR several properties; they are ANDed below instead.
        guard udev_enumerate_add_match_subsystem(enumerate, subsystem) >= 0,
              udev_enumerate_scan_devices(enumerate) >= 0 else { return [] }

        var found: [(devnode: String, properties: [String: String])] = []
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let e = entry {
            defer { entry = udev_list_entry_get_next(e) }
            guard let syspath = udev_list_entry_get_name(e),
                  let device = udev_device_new_from_syspath(udev, syspath) else { continue }
            defer { udev_device_unref(device) }
            guard let node = udev_device_get_devnode(device) else { continue }
            let props = Self.properties(of: device)
            let matches = properties.allSatisfy { key, pattern in
                guard let value = props[key] else { return false }
                return fnmatch(pattern, value, 0) == 0
            }
            if matches { found.append((devnode: String(cString: node), properties: props)) }
        }
        return found.sorted { $0.devnode < $1.devnode }
    }

    /// The one device node that matches, or why not (none, or several: a `match:` must be
    /// specific enough to name one port).
    public static func uniqueDevnode(subsystem: String, properties: [String: String]) -> Result<String, UdevMatchError> {
        let found = devices(subsystem: subsystem, properties: properties)
        switch found.count {
        case 1: return .success(found[0].devnode)
        case 0: return .failure(UdevMatchError(text: "no \(subsystem) device matches \(describe(properties))"))
        default:
            return .failure(UdevMatchError(text: "\(found.count) \(subsystem) devices match \(describe(properties)): "
                + found.map(\.devnode).joined(separator: ", ")))
        }
    }

    private static func describe(_ properties: [String: String]) -> String {
        properties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    static func properties(of device: OpaquePointer) -> [String: String] {
        var props: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(device)
        while let e = entry {
            if let name = udev_list_entry_get_name(e) {
                props[String(cString: name)] = udev_list_entry_get_value(e).map { String(cString: $0) } ?? ""
            }
            entry = udev_list_entry_get_next(e)
        }
        return props
    }
}

/// Why a udev `match:` did not name exactly one device.
public struct UdevMatchError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public init(text: String) { self.text = text }
    public var description: String { text }
}
