import CPosix
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
    private let fd: Int32

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
        fd = udev_monitor_get_fd(m)
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
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard soak_poll_ns(&p, 1, deadline - now) > 0 else { continue }
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
    public static func forMatch(subsystem: String, properties: [String: String], timeout: SoakDuration) -> Result<String, UdevMatchError> {
        // Monitor first, then enumerate: an add between the two is not missed.
        let monitor = UdevMonitor(subsystem: subsystem)
        if case .success(let node) = UdevMatch.uniqueDevnode(subsystem: subsystem, properties: properties) { return .success(node) }
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        while MonotonicClock.read() < deadline {
            let left = deadline - MonotonicClock.read()
            if let monitor {
                guard let event = monitor.next(timeout: min(left, 500_000_000)) else {
                    // Also enumerate now and then: an event can be lost when the socket overflows.
                    if case .success(let node) = UdevMatch.uniqueDevnode(subsystem: subsystem, properties: properties) { return .success(node) }
                    continue
                }
                guard event.action == "add" || event.action == "change" || event.action == "bind" else { continue }
            } else {
                usleep(100_000)
            }
            if case .success(let node) = UdevMatch.uniqueDevnode(subsystem: subsystem, properties: properties) { return .success(node) }
        }
        return UdevMatch.uniqueDevnode(subsystem: subsystem, properties: properties)
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
            return DeviceWait.forMatch(subsystem: subsystem, properties: properties, timeout: timeout)
        }
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        while true {
            let result = find(spec, subsystem: subsystem)
            if case .success = result { return result }
            if MonotonicClock.read() >= deadline || interrupted() { return result }
            usleep(20_000)
        }
    }

    static func globPaths(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
