import ArgumentParser
import Foundation
import SoakReports
import SoakCore
import SoakLinux

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List serial and RPMsg ttys with their udev properties, and a match: block to paste into a board file; then the GPIO chips and their named lines.",
        discussion: "Like labgrid-suggest. Without udevd only the kernel's properties exist (DEVNAME, DEVPATH, MAJOR, MINOR): then match by device path instead.")

    @Flag(name: .long, help: "Also list virtual consoles (tty0 ... tty63), ptys, and unnamed unused GPIO lines.")
    var all = false

    func run() throws {
        let devices = UdevMatch.devices(subsystem: "tty").filter { d in
            all || !(d.devnode.range(of: #"^/dev/(tty\d+|ptmx|tty|console|pts/.*)$"#, options: .regularExpression) != nil)
        }.sorted { $0.devnode.compare($1.devnode, options: .numeric) == .orderedAscending }
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
        listGpio()
    }

    /// GPIO chips and their named or used lines, for a board file's power: block.
    private func listGpio() {
        let chips = GpioChipInfo.all()
        guard !chips.isEmpty else {
            print("\nno GPIO chips (/dev/gpiochip*): a gpio power switch is not possible on this machine")
            return
        }
        print("\nGPIO chips (libgpiod \(LibraryVersions.gpiod)):")
        for chip in chips {
            print("\(chip.path)  \(chip.name) [\(chip.label)] \(chip.lines) lines")
            for line in GpioLineInfo.all(chip: chip.path) where all || !line.name.isEmpty || line.used {
                let use = line.used ? " used by '\(line.consumer)'" : ""
                print("  line \(line.offset)\(line.name.isEmpty ? "" : " \"\(line.name)\"") \(line.output ? "output" : "input")\(use)")
            }
        }
        if let first = chips.first {
            print("  board file:\n    power: {kind: gpio, chip: \"\(first.label.isEmpty ? first.name : first.label)\", line: LINE_NAME_OR_OFFSET, active_low: false}")
        }
    }
}

struct Power: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Switch a board's power through its board file's power: block (on, off, cycle, status).",
        discussion: """
            kind: command runs the on/off commands with their timeout; status runs the status command \
            (exit 0: on). kind: gpio requests the relay line, drives it and releases it; status reads \
            the line without changing it. A released line keeps its value on most SoC GPIO controllers \
            (i.MX included) but not on all (gpio-sim returns to its pull): --hold keeps the line \
            requested until SIGINT or SIGTERM. An interrupted cycle or hold leaves the board in the \
            board file's on_exit state (default: on). A board whose power is the in-process simulator \
            (kind: sim) has nothing to switch from outside: a standalone `rpmsg-soak sim --dir D` is \
            switched with echo 'power cycle' > D/control.
            Exit status: 0 done (status: on), 1 status: off, 2 usage or configuration error (also: \
            status without a status command), 3 the switch failed, 130 interrupted during a cycle.
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable { case on, off, cycle, status }

    @Argument(help: "on, off, cycle or status.")
    var action: Action

    @Option(name: .long, help: "The board file.")
    var board: String

    @Option(name: .long, help: "How long the power stays off in a cycle (for example 2s; default: the board file's power.off_time, else 2s).")
    var offTime: String?

    @Flag(name: .long, help: "After switching, keep holding the switch (a GPIO line request) until SIGINT or SIGTERM.")
    var hold = false

    func validate() throws {
        if hold && action == .status { throw ValidationError("--hold does not apply to status") }
        if let t = offTime, SoakDuration.parse(t, requireUnit: true) == nil {
            throw ValidationError("--off-time: expected a duration with a unit such as 2s or 500ms, found '\(t)'")
        }
    }

    func run() throws {
        installStopHandlers()
        let config: BoardConfig
        do { config = try ConfigLoader.loadBoard(path: board) } catch {
            fail("configuration error: \(ErrorText.describe(error))", exit: 2)
        }
        guard let p = config.power, p.standsAlone else {
            let kind = config.power?.kind.rawValue ?? "not set"
            fail("\(board): power.kind is \(kind): nothing to switch from here (use kind: gpio or kind: command)", exit: 2)
        }
        let offDuration = offTime.flatMap { SoakDuration.parse($0, requireUnit: true) } ?? p.offTime ?? .seconds(2)
        if action == .status { return try status(config) }

        let control: PowerControl
        do {
            // A relay is requested straight into the first state the action wants: no glitch through the other.
            guard let c = try BoardParts(board: config).powerControl(initial: action == .on) else { return }
            control = c
        } catch {
            fail("\(ErrorText.describe(error))", exit: 3)
        }
        let interrupted = { stopRequested.load(ordering: .relaxed) }
        do {
            switch action {
            case .on: try control.on()
            case .off: try control.off()
            case .cycle: try control.cycle(offTime: offDuration) { sleep($0, unless: interrupted) }
            case .status: break
            }
            print("power \(action.rawValue): done (\(control.power.name))")
            fflush(nil)
            if hold {
                print("holding; SIGINT or SIGTERM ends the hold and leaves the board \(p.onExit.rawValue)")
                fflush(nil)
                while !interrupted() { _ = sleep(.seconds(1), unless: interrupted) }
                try leave(control)
                return
            }
            control.power.release()
        } catch {
            let wasInterrupted = interrupted()
            FileHandle.standardError.write(Data("rpmsg-soak power: \(action.rawValue): \(ErrorText.describe(error))\n".utf8))
            do { try leave(control) } catch { FileHandle.standardError.write(Data("rpmsg-soak power: \(ErrorText.describe(error))\n".utf8)) }
            Foundation.exit(wasInterrupted ? 130 : 3)
        }
    }

    /// Puts the board in its declared state (on_exit) and says what it is now, as far as this
    /// command knows: after a failed switch it does not.
    private func leave(_ control: PowerControl) throws(RecoveryFailure) {
        if let what = try control.finish() {
            print(what)
        } else if let on = control.lastSwitched {
            print("power left \(on ? "on" : "off") (on_exit: \(control.onExit.rawValue))")
        } else {
            print("power state unknown: the switch did not confirm a state (check it with power status)")
        }
        fflush(nil)
    }

    private func status(_ config: BoardConfig) throws {
        let on: Bool
        do {
            guard let known = try BoardParts(board: config).powerStatus() else {
                fail("status: unknown: the board file's power block has no status command", exit: 2)
            }
            on = known
        } catch {
            fail("status: \(ErrorText.describe(error))", exit: 3)
        }
        print(on ? "on" : "off")
        if !on { throw ExitCode(1) }
    }

    private func fail(_ text: String, exit code: Int32) -> Never {
        FileHandle.standardError.write(Data("rpmsg-soak power: \(text)\n".utf8))
        Foundation.exit(code)
    }
}

/// The other half of a GPIO relay's PowerGuard: started by the tester itself, never by hand.
struct PowerGuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "power-guard",
        abstract: "Internal: holds a copy of the relay line's request and drives it to the declared state if the tester dies.",
        shouldDisplay: false)

    @Option(help: "The libgpiod uAPI of the request on descriptor 3 (1 or 2).")
    var uapi: Int

    @Option(help: "The value to drive when the tester is gone (1 on, 0 off).")
    var value: Int

    @Option(help: "The tester's process id, for the message.")
    var parent: Int

    func run() throws {
        if let what = PowerGuard.serve(uapi: uapi, value: value == 1, parent: parent) {
            FileHandle.standardError.write(Data("rpmsg-soak power-guard: \(what)\n".utf8))
        }
    }
}
