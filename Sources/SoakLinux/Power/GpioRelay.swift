import CGpioLine
import Foundation
import Glibc
import SoakCore

/// Why a GPIO line could not be found, requested or driven; the text names the chip, the line
/// and, for a busy line, who holds it.
public struct GpioError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A GPIO chip as the kernel lists it.
public struct GpioChipInfo: Sendable, Equatable {
    public var path: String
    public var name: String
    public var label: String
    public var lines: Int

    /// Every /dev/gpiochipN that can be opened.
    public static func all() -> [GpioChipInfo] {
        let names = ((try? directoryEntries("/dev")) ?? []).filter { $0.hasPrefix("gpiochip") }
        return names.sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }.compactMap { name in
            guard let chip = GpioChip(path: "/dev/\(name)") else { return nil }
            return chip.info
        }
    }
}

/// One line of a chip, as `rpmsg-soak devices` lists it.
public struct GpioLineInfo: Sendable, Equatable {
    public var offset: Int
    public var name: String
    public var consumer: String
    public var used: Bool
    public var output: Bool

    /// Every line of the chip at `path`.
    public static func all(chip path: String) -> [GpioLineInfo] {
        guard let chip = GpioChip(path: path) else { return [] }
        return (0..<chip.info.lines).compactMap { offset in
            chip.lineInfo(UInt32(offset)).map {
                GpioLineInfo(offset: offset, name: $0.name, consumer: $0.consumer, used: $0.used, output: $0.output)
            }
        }
    }
}

/// An open /dev/gpiochipN (gpiod_chip_open).
final class GpioChip {
    let handle: OpaquePointer
    let info: GpioChipInfo

    init?(path: String) {
        guard let h = soak_gpio_chip_open(path) else { return nil }
        var name = [CChar](repeating: 0, count: 64), label = [CChar](repeating: 0, count: 64)
        var lines: UInt32 = 0
        _ = soak_gpio_chip_describe(h, &name, name.count, &label, label.count, &lines)
        handle = h
        info = GpioChipInfo(path: path, name: string(fromCBuffer: name), label: string(fromCBuffer: label), lines: Int(lines))
    }

    deinit { soak_gpio_chip_close(handle) }

    /// Opens the chip a board file names: a path, a kernel name (gpiochip2), a number, or a label.
    static func open(_ spec: String) throws(GpioError) -> GpioChip {
        var path: String?
        if spec.hasPrefix("/") {
            path = spec
        } else if spec.hasPrefix("gpiochip") {
            path = "/dev/\(spec)"
        } else if Int(spec) != nil {
            path = "/dev/gpiochip\(spec)"
        }
        if let path {
            guard let chip = GpioChip(path: path) else {
                let e = Errno.current
                throw GpioError("GPIO chip \(spec): cannot open \(path): \(e)\(Self.chipList())")
            }
            return chip
        }
        let matches = GpioChipInfo.all().filter { $0.label == spec }
        guard let first = matches.first else { throw GpioError("no GPIO chip labelled '\(spec)'\(Self.chipList())") }
        if matches.count > 1 {
            throw GpioError("GPIO chip label '\(spec)' is not unique (\(matches.map(\.name).joined(separator: ", "))); name the chip by path instead")
        }
        guard let chip = GpioChip(path: first.path) else {
            let e = Errno.current
            throw GpioError("GPIO chip \(spec): cannot open \(first.path): \(e)")
        }
        return chip
    }

    static func chipList() -> String {
        let chips = GpioChipInfo.all()
        if chips.isEmpty { return " (this machine has no GPIO chips: no /dev/gpiochip*)" }
        return " (chips here: " + chips.map { "\($0.name) [\($0.label)] \($0.lines) lines" }.joined(separator: "; ")
            + "; rpmsg-soak devices lists their lines)"
    }

    /// A line by offset or by name.
    func offset(of line: String) throws(GpioError) -> UInt32 {
        if let n = UInt32(line) {
            guard n < info.lines else { throw GpioError("GPIO chip \(info.name) [\(info.label)] has \(info.lines) lines; there is no line \(n)") }
            return n
        }
        let offset = soak_gpio_line_find(handle, line)
        guard offset >= 0 else { throw GpioError("GPIO chip \(info.name) [\(info.label)] has no line named '\(line)'") }
        return UInt32(offset)
    }

    struct LineInfo {
        var name: String
        var consumer: String
        var used: Bool
        var output: Bool
    }

    func lineInfo(_ offset: UInt32) -> LineInfo? {
        var name = [CChar](repeating: 0, count: 64), consumer = [CChar](repeating: 0, count: 64)
        var used: Int32 = 0, output: Int32 = 0
        guard soak_gpio_line_describe(handle, offset, &name, name.count, &consumer, consumer.count, &used, &output) == 0 else { return nil }
        return LineInfo(name: string(fromCBuffer: name), consumer: string(fromCBuffer: consumer), used: used != 0, output: output != 0)
    }
}

/// One GPIO line held by this process (a libgpiod line request). Values are logical: with
/// active-low, `true` drives the line low.
public final class GpioLine {
    /// "gpiochip0 [relaychip] line 0 'POWER_RELAY'".
    public let label: String
    private let chip: GpioChip
    private var request: OpaquePointer?

    /// Requests the line as an output driven to `value` at once (no glitch through the other
    /// state), or, with `value` nil, as it is, to read it without changing it.
    public init(chip spec: String, line: String, activeLow: Bool, value: Bool?, consumer: String = "rpmsg-soak") throws(GpioError) {
        chip = try GpioChip.open(spec)
        let offset = try chip.offset(of: line)
        let info = chip.lineInfo(offset)
        let lineName = info.map { $0.name.isEmpty ? "" : " '\($0.name)'" } ?? ""
        label = "\(chip.info.name) [\(chip.info.label)] line \(offset)\(lineName)"
        guard let r = soak_gpio_request_line(chip.handle, offset, consumer, value == nil ? 1 : 0, activeLow ? 1 : 0, value == true ? 1 : 0) else {
            let e = Errno.current
            if e == .resourceBusy, let info = chip.lineInfo(offset) {
                throw GpioError("\(label) is held by another process: \(GpioHolders.describe(consumer: info.consumer, chip: chip.info.name, offset: offset))")
            }
            throw GpioError("cannot request \(label): \(e)")
        }
        request = r
    }

    deinit { release() }

    public func set(_ value: Bool) throws(GpioError) {
        guard let request else { throw GpioError("\(label) was released") }
        guard soak_gpio_request_set(request, value ? 1 : 0) == 0 else {
            let e = Errno.current
            throw GpioError("cannot drive \(label) \(value ? "active" : "inactive"): \(e)")
        }
    }

    public func get() throws(GpioError) -> Bool {
        guard let request else { throw GpioError("\(label) was released") }
        let v = soak_gpio_request_get(request)
        guard v >= 0 else {
            let e = Errno.current
            throw GpioError("cannot read \(label): \(e)")
        }
        return v == 1
    }

    /// Gives the line back. What the line does then is the controller's business: most SoC
    /// controllers (i.MX included) keep driving the last value; gpio-sim returns to its pull.
    public func release() {
        if let request { soak_gpio_request_release(request) }
        request = nil
    }

    /// The kernel descriptor of the request, for a PowerGuard.
    var kernelFD: FileDescriptor? {
        guard let request else { return nil }
        let fd = soak_gpio_request_fd(request)
        return fd >= 0 ? FileDescriptor(rawValue: fd) : PowerGuard.linehandleFD()
    }
}

/// Who holds a GPIO line: the kernel gives the consumer label; the process is found through
/// /proc (line-request file descriptors; kernels from 6.7 also name chip and offset in fdinfo).
enum GpioHolders {
    static func describe(consumer: String, chip: String, offset: UInt32) -> String {
        let who = consumer.isEmpty ? "a consumer with no label" : "consumer '\(consumer)'"
        let processes = find(chip: chip, offset: offset, consumer: consumer)
        if processes.isEmpty { return "\(who) (no process holds it: a kernel driver or a device-tree hog)" }
        return "\(who), " + processes.map { "process \($0.pid) (\($0.command))" }.joined(separator: ", ")
    }

    struct Holder { var pid: Int; var command: String }

    static func find(chip: String, offset: UInt32, consumer: String) -> [Holder] {
        var exact: [Holder] = [], candidates: [Holder] = []
        let me = Int(getpid())
        for entry in (try? directoryEntries("/proc")) ?? [] {
            guard let pid = Int(entry), pid != me else { continue }
            let fds = (try? directoryEntries("/proc/\(pid)/fd")) ?? []
            var holds = false, pinpointed = false
            for fd in fds {
                guard let target = readLink("/proc/\(pid)/fd/\(fd)"), target.hasPrefix("anon_inode:gpio-line") else { continue }
                holds = true
                // Linux 6.7+: "gpio-chip:\tgpiochip0" and "gpio-line-offset:\t0" per line.
                if let info = readText("/proc/\(pid)/fdinfo/\(fd)"), info.contains("gpio-chip:") {
                    let lines = info.split(separator: "\n").map { $0.replacingOccurrences(of: "\t", with: " ") }
                    if lines.contains("gpio-chip: \(chip)") && lines.contains("gpio-line-offset: \(offset)") { pinpointed = true }
                }
            }
            guard holds else { continue }
            let command = (readText("/proc/\(pid)/comm") ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
            if pinpointed { exact.append(Holder(pid: pid, command: command)) } else { candidates.append(Holder(pid: pid, command: command)) }
        }
        if !exact.isEmpty { return exact }
        // Without fdinfo: prefer processes whose name is the consumer label (gpioset, a daemon).
        let named = candidates.filter { !consumer.isEmpty && consumer.hasPrefix($0.command) }
        return named.isEmpty ? candidates : named
    }
}

/// The board's power through a relay on a GPIO line. The line is requested when the switch is
/// made and held until `release()`: nobody else can flip the relay during a soak.
public final class GpioPowerSwitch: PowerSwitch {
    public let name: String
    let line: GpioLine
    private var guardian: PowerGuard?

    /// - initial: drive the line to on (true) or off (false) as it is requested.
    /// - guarding: the declared state a PowerGuard drives should this process die holding the
    ///   line (nil: no guard, for `as-is`).
    public init(config: GpioRelayConfig, initial: Bool, guarding: Bool? = nil) throws(GpioError) {
        line = try GpioLine(chip: config.chip, line: config.line, activeLow: config.activeLow, value: initial)
        name = "gpio \(line.label)\(config.activeLow ? " (active-low)" : "")"
        if let value = guarding {
            guard let fd = line.kernelFD else {
                line.release()
                throw GpioError("power guard: cannot find the kernel descriptor of \(line.label)'s request")
            }
            do {
                guardian = try PowerGuard(requestFD: fd, uapi: LibraryVersions.gpiodAPI, value: value)
            } catch {
                line.release()
                throw error
            }
        }
    }

    public func on() throws(RecoveryFailure) {
        do { try line.set(true) } catch { throw RecoveryFailure("power on: \(error)") }
    }

    public func off() throws(RecoveryFailure) {
        do { try line.set(false) } catch { throw RecoveryFailure("power off: \(error)") }
    }

    public func release() {
        guardian?.dismiss()
        guardian = nil
        line.release()
    }

    /// What a board file's relay line is on this machine, looked at without requesting it:
    /// `gpiochip0 [relaychip] line 3 'POWER_RELAY', free` or why it cannot be had.
    public static func look(config: GpioRelayConfig) -> (found: Bool, text: String) {
        do {
            let chip = try GpioChip.open(config.chip)
            let offset = try chip.offset(of: config.line)
            let info = chip.lineInfo(offset)
            let name = info.map { $0.name.isEmpty ? "" : " '\($0.name)'" } ?? ""
            let use = info.map { $0.used ? ", held now by '\($0.consumer)'" : ", free" } ?? ""
            return (true, "\(chip.info.name) [\(chip.info.label)] line \(offset)\(name)\(use)")
        } catch {
            return (false, "\(error)")
        }
    }

    /// Whether the relay is energised, read without changing the line (a request "as is").
    public static func status(config: GpioRelayConfig) throws(GpioError) -> Bool {
        let line = try GpioLine(chip: config.chip, line: config.line, activeLow: config.activeLow, value: nil)
        defer { line.release() }
        return try line.get()
    }
}
