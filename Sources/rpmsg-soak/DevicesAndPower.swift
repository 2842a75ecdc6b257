import ArgumentParser
import Foundation
import SoakCore
import SoakLinux

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List serial and RPMsg ttys with their udev properties, and a match: block to paste into a board file.",
        discussion: "Like labgrid-suggest. Without udevd only the kernel's properties exist (DEVNAME, DEVPATH, MAJOR, MINOR): then match by device path instead.")

    @Flag(name: .long, help: "Also list virtual consoles (tty0 ... tty63) and ptys.")
    var all = false

    func run() throws {
        let devices = UdevMatch.devices(subsystem: "tty").filter { d in
            all || !(d.devnode.range(of: #"^/dev/(tty\d+|ptmx|tty|console|pts/.*)$"#, options: .regularExpression) != nil)
        }
        if devices.isEmpty {
            print("no serial or RPMsg ttys found (use --all to see consoles and ptys)")
            return
        }
        let keys = ["ID_SERIAL_SHORT", "ID_USB_INTERFACE_NUM", "ID_PATH", "ID_VENDOR", "ID_MODEL", "ID_SERIAL"]
        var anyID = false
        for d in devices {
            print(d.devnode)
            for key in (keys + ["DEVPATH"]) {
                if let v = d.properties[key] { print("  \(key)=\(v)") }
            }
            let matchKeys = ["ID_SERIAL_SHORT", "ID_USB_INTERFACE_NUM", "ID_PATH"].filter { d.properties[$0] != nil }
            if matchKeys.isEmpty {
                print("  board file:  device: \(d.devnode)")
            } else {
                anyID = true
                print("  board file:")
                print("    match:")
                for k in matchKeys { print("      \(k): \"\(d.properties[k] ?? "")\"") }
            }
        }
        if !anyID {
            print("(no ID_* properties: udevd is not running or these are not USB adapters; match by device path)")
        }
    }
}

struct Power: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Switch a board's power through its board file's power: block (on, off, cycle, status).",
        discussion: "For kind: command the on/off commands run with their timeout; status runs the status command when the board file has one (exit 0: on). A board whose power is the in-process simulator (kind: sim) has nothing to switch from outside: a standalone `rpmsg-soak sim --dir D` is switched with echo 'power cycle' > D/control, or with a command board file.")

    enum Action: String, ExpressibleByArgument, CaseIterable { case on, off, cycle, status }

    @Argument(help: "on, off, cycle or status.")
    var action: Action

    @Option(name: .long, help: "The board file.")
    var board: String

    @Option(name: .long, help: "How long the power stays off in a cycle (for example 2s).")
    var offTime: String = "2s"

    func run() throws {
        let config: BoardConfig
        do { config = try ConfigLoader.loadBoard(path: board) } catch {
            FileHandle.standardError.write(Data("rpmsg-soak power: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard let p = config.power, p.kind == .command, let on = p.onCommand, let off = p.offCommand else {
            FileHandle.standardError.write(Data("rpmsg-soak power: \(board): no power commands (power.kind is \(config.power?.kind.rawValue ?? "not set")); nothing to switch\n".utf8))
            throw ExitCode(2)
        }
        guard let offDuration = SoakDuration.parse(offTime) else {
            FileHandle.standardError.write(Data("rpmsg-soak power: --off-time: expected a duration such as 2s, found '\(offTime)'\n".utf8))
            throw ExitCode(2)
        }
        let power = CommandPowerSwitch(on: on, off: off, timeout: p.timeout)
        do {
            switch action {
            case .on: try power.on()
            case .off: try power.off()
            case .cycle:
                do {
                    try power.off()
                    usleep(UInt32(min(offDuration.nanoseconds / 1000, UInt64(UInt32.max))))
                } catch {
                    try? power.on()  // never left off by accident
                    throw error
                }
                try power.on()
            case .status:
                guard let status = p.statusCommand else {
                    print("unknown (the board file's power block has no status command)")
                    return
                }
                do {
                    try SetupCommands.run([status], timeout: p.timeout)
                    print("on")
                } catch {
                    print("off")
                    throw ExitCode(1)
                }
                return
            }
            print("power \(action.rawValue): done")
        } catch let e as ExitCode {
            throw e
        } catch {
            FileHandle.standardError.write(Data("rpmsg-soak power \(action.rawValue): \(error)\n".utf8))
            throw ExitCode(3)
        }
    }
}
