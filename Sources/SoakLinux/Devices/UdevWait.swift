import CUdev
import Glibc
import SoakCore

/// One uevent as the kernel sent it.
public struct Uevent: Sendable, Equatable {
    /// add, remove, change, bind, ...
    public var action: String
    public var devpath: String
    public var devnode: String?
    public var properties: [String: String]
}

/// Kernel uevents of one subsystem, from the `"kernel"` netlink source: real hotplug events
/// without udevd (the `"udev"` source needs udevd running). Wraps udev_monitor_new_from_netlink,
/// udev_monitor_filter_add_match_subsystem_devtype, udev_monitor_receive_device.
public final class UdevMonitor {
    private let udev: OpaquePointer
    private let monitor: OpaquePointer
    private let fd: FileDescriptor

    public init?(subsystem: String) {
        guard let u = udev_new() else { return nil }
        guard let m = udev_monitor_new_from_netlink(u, "kernel") else { udev_unref(u); return nil }
        guard udev_monitor_filter_add_match_subsystem_devtype(m, subsystem, nil) >= 0,
              udev_monitor_enable_receiving(m) >= 0 else {
            udev_monitor_unref(m)
            udev_unref(u)
            return nil
        }
        udev = u
        monitor = m
        fd = FileDescriptor(rawValue: udev_monitor_get_fd(m))
    }

    deinit {
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    /// The next event within `timeout` ns, or nil. A readable socket whose message the filter
    /// dropped (udev_monitor_receive_device returns NULL) is not an event: keep waiting.
    public func next(timeout: UInt64) -> Uevent? {
        let deadline = MonotonicClock.read() &+ timeout
        while true {
            let now = MonotonicClock.read()
            guard now < deadline else { return nil }
            guard let events = try? fd.poll(for: .readable, timeout: deadline - now), !events.isEmpty else { continue }
            guard let device = udev_monitor_receive_device(monitor) else { continue }
            defer { udev_device_unref(device) }
            return Uevent(action: udev_device_get_action(device).map { String(cString: $0) } ?? "",
                          devpath: udev_device_get_devpath(device).map { String(cString: $0) } ?? "",
                          devnode: udev_device_get_devnode(device).map { String(cString: $0) },
                          properties: UdevMatch.properties(of: device))
        }
    }
}

/// Waits for a device to be there after power returns: by udev properties (enumerate, then
/// watch add events, so a port that re-enumerates under a new name is found), or by path.
public enum DeviceWait {
    /// How long one look at the monitor may take: the longest a SIGINT waits to be noticed.
    static let interruptCheck: UInt64 = 100_000_000
    /// How often the devices are enumerated again while nothing arrives: an event can be lost
    /// when the monitor's socket overflows.
    static let enumerateEvery: UInt64 = 500_000_000

    /// Waits up to `timeout`; gives up within about 100 ms of `interrupted` becoming true, with
    /// the last lookup's result (why it is not there: enumerating again would only delay the
    /// exit a Ctrl-C asked for).
    public static func forMatch(subsystem: String, properties: [String: String], timeout: SoakDuration,
                                interrupted: () -> Bool = { false }) -> Result<String, UdevMatchError> {
        func lookup() -> Result<String, UdevMatchError> {
            UdevMatch.uniqueDevnode(subsystem: subsystem, properties: properties)
        }
        // Monitor first, then enumerate: an add between the two is not missed.
        let monitor = UdevMonitor(subsystem: subsystem)
        var last = lookup()
        if case .success = last { return last }
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        var enumeratedAt = MonotonicClock.read()
        while true {
            if interrupted() { return last }
            let now = MonotonicClock.read()
            guard now < deadline else { break }
            let slice = min(deadline - now, interruptCheck)
            if let monitor {
                if let event = monitor.next(timeout: slice) {
                    guard event.action == "add" || event.action == "change" || event.action == "bind" else { continue }
                } else if MonotonicClock.read() &- enumeratedAt < enumerateEvery {
                    continue
                }
            } else {
                _ = sleep(SoakDuration(nanoseconds: slice), unless: interrupted)
            }
            enumeratedAt = MonotonicClock.read()
            last = lookup()
            if case .success = last { return last }
        }
        return lookup()
    }
}

/// Finds a board's device by path, glob or udev match, now or within a deadline.
public enum DeviceLocator {
    /// Where the device is now, or why it is not there.
    public static func find(_ spec: DeviceSpec, subsystem: String = "tty") -> Result<String, UdevMatchError> {
        switch spec {
        case .path(let p):
            return access(p, F_OK) == 0 ? .success(p) : .failure(UdevMatchError(text: "\(p) does not exist"))
        case .glob(let pattern):
            let found = globPaths(pattern)
            switch found.count {
            case 1: return .success(found[0])
            case 0: return .failure(UdevMatchError(text: "nothing matches \(pattern)"))
            default: return .failure(UdevMatchError(text: "\(found.count) devices match \(pattern): \(found.joined(separator: ", ")); name one"))
            }
        case .match(let properties):
            return UdevMatch.uniqueDevnode(subsystem: subsystem, properties: properties)
        }
    }

    /// Waits up to `timeout` for the device: a udev match through DeviceWait (enumerate, then
    /// kernel uevents), a path or glob by looking every 20 ms. Gives up when `interrupted`.
    public static func wait(_ spec: DeviceSpec, timeout: SoakDuration, subsystem: String = "tty",
                            interrupted: () -> Bool = { false }) -> Result<String, UdevMatchError> {
        if case .match(let properties) = spec {
            return DeviceWait.forMatch(subsystem: subsystem, properties: properties, timeout: timeout,
                                       interrupted: interrupted)
        }
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        while true {
            let result = find(spec, subsystem: subsystem)
            if case .success = result { return result }
            if MonotonicClock.read() >= deadline || interrupted() { return result }
            _ = sleep(.milliseconds(20), unless: interrupted)
        }
    }

    static func globPaths(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
