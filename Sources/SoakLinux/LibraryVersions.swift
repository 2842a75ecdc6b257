import CGpiod
import CUdev

/// Which C libraries this build was compiled against (the GPIO relay and udev waiter of a later
/// stage use them; naming them here proves the build links both).
public enum LibraryVersions {
    /// 1 for libgpiod 1.x (Debian 12), 2 for libgpiod 2.x.
    public static var gpiodAPI: Int { Int(rpmsg_soak_gpiod_api) }
    public static var gpiod: String { String(cString: rpmsg_soak_gpiod_version()) }
    /// libudev is present when a udev context can be made.
    public static var udevAvailable: Bool {
        guard let ctx = udev_new() else { return false }
        udev_unref(ctx)
        return true
    }
}
