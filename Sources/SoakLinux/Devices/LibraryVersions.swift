import CGpioLine
import CUdev

/// Which C libraries this build was compiled against (`rpmsg-soak --version` prints them).
public enum LibraryVersions {
    /// 1 for libgpiod 1.x (Debian 12), 2 for libgpiod 2.x; decided when the package was built.
    public static var gpiodAPI: Int { Int(soak_gpio_api()) }
    public static var gpiod: String { String(cString: soak_gpio_version()) }
    /// libudev is present when a udev context can be made.
    public static var udevAvailable: Bool {
        guard let ctx = udev_new() else { return false }
        udev_unref(ctx)
        return true
    }
}
