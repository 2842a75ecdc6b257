import ArgumentParser
import Foundation
import SoakLinux

@main
struct RpmsgSoak: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "rpmsg-soak",
        abstract: "Hardware-in-the-loop soak tester for the RPMsg link between Linux and the i.MX8M Plus Cortex-M7.",
        discussion: """
        Exit status: 0 passed, 1 the soak failed its criteria, 2 usage or configuration error, 3 infrastructure error (hardware unreachable), 130 interrupted (reports still written).
        """,
        version: "\(version) (libgpiod \(LibraryVersions.gpiod), API v\(LibraryVersions.gpiodAPI))",
        subcommands: [Run.self, Check.self, Report.self, Merge.self, Compare.self, Sim.self, Power.self, Devices.self, PowerGuardCommand.self]
    )

    /// No subcommand: the help, on stderr, and exit 2 (a script that forgot `run` must not pass).
    func run() throws {
        FileHandle.standardError.write(Data((Self.helpMessage() + "\n").utf8))
        throw ExitCode(2)
    }

    /// Usage errors exit 2, as every other configuration error does (ArgumentParser says 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error).rawValue == 64 {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Profile and board chosen on the command line, loaded and validated.
struct ConfigOptions: ParsableArguments {
    @Argument(help: "The soak profile (YAML), for example profiles/smoke.yaml.")
    var profile: String?

    @Option(name: .long, help: "The board file (YAML). Default: the built-in simulated board.")
    var board: String?

    @Option(name: .long, help: "Seed for payloads, sizes and simulated faults (overrides the profile's).")
    var seed: UInt64?
}
