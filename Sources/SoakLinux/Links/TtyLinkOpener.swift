import Glibc
import SoakCore

/// A tty on this machine by path, glob or udev match, looked up again at every open: waits
/// (libudev: enumerate, then kernel uevents) until it exists, then opens it raw and exclusive.
public final class TtyLinkOpener: LinkOpener {
    public let device: DeviceSpec

    public init(device: DeviceSpec) { self.device = device }

    public var description: String { device.description }

    public func open(timeout: SoakDuration, interrupted: @escaping () -> Bool) throws(LinkOpenError) -> Link {
        let deadline = MonotonicClock.read() &+ timeout.nanoseconds
        switch DeviceLocator.wait(device, timeout: timeout, interrupted: interrupted) {
        case .success(let path):
            let now = MonotonicClock.read()
            let left = deadline > now ? deadline - now : 0
            return try TtyLink.open(path: path, timeout: SoakDuration(nanoseconds: max(left, 100_000_000)))
        case .failure(let e):
            if case .path(let p) = device, !interrupted() {
                if access(p, F_OK) != 0 { throw LinkOpenError(device: p, reason: "does not exist (waited \(timeout))") }
                // TtyLink says why a path that is there cannot be opened (not a tty, busy).
                return try TtyLink(path: p)
            }
            throw LinkOpenError(device: device.description,
                                reason: interrupted() ? "interrupted" : "did not come back within \(timeout): \(e)")
        }
    }
}
