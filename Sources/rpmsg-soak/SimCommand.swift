import ArgumentParser
import BoardSimulator
import Foundation
import SoakReports
import Glibc
import SoakCore

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the simulated i.MX8M Plus on its own, for your own application (a Qt app, picocom).",
        discussion: """
        Prints the paths of its RPMsg tty, its M7 debug UART, its kernel log (in /dev/kmsg record format) and its control FIFO. Switch its power with:
            echo 'power cycle' > DIR/control      (also: power on, power off, power cycle 3s)
        and stop or restart its M7 as remoteproc would with:
            echo stop > DIR/remoteproc/state     (then: echo start; cat it for offline, running or attached)

        Faults: kick-halt, kick-alive, assert, hardfault, drop, corrupt, hangup, latency, each with a mean time between faults, for example --faults kick-halt:mtbf=20s,corrupt:mtbf=5s,hangup:mtbf=1m:down=3s

        Runs until interrupted.
        """)

    @Option(name: .long, help: "Folder for the device links, kernel log and control FIFO.")
    var dir: String?

    @Option(name: .long, help: "Board file with simulator settings (default: the built-in simulator).")
    var board: String?

    @Option(name: .long, help: "Faults, as kind:mtbf=DURATION[:down=D][:spike=D], comma-separated (added to the board file's).")
    var faults: String?

    @Option(name: .long, help: "Seed for fault times and byte-level behaviour.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Debug UART baud rate (0: printing costs no time).")
    var uartBaud: Int?

    @Flag(name: .long, help: "Also write the kernel lines into the real /dev/kmsg (root).")
    var kmsgInject = false

    func run() throws {
        var config = SimulatorConfig.default
        do {
            if let board {
                let b = try ConfigLoader.loadBoard(path: board)
                guard let s = b.simulator else {
                    throw ConfigError(file: board, line: 0, column: 0, key: "link.device", message: "not a simulated board (device is not 'sim')")
                }
                config = s
            }
            if let faults { config.faults += try FaultSpec.parseList(faults) }
        } catch {
            FileHandle.standardError.write(Data("rpmsg-soak sim: configuration error: \(ErrorText.describe(error))\n".utf8))
            throw ExitCode(2)
        }
        if let uartBaud { config.uartBaud = uartBaud }
        let directory = dir ?? "/tmp/rpmsg-soak-sim-\(getpid())"
        let sim = SimulatedBoard(options: .init(config: config, seed: seed, directory: directory, injectKmsg: kmsgInject))
        installStopHandlers()
        sim.start()
        guard sim.waitUntilBooted(timeout: config.bootTime + .seconds(5)) != nil else {
            FileHandle.standardError.write(Data("rpmsg-soak sim: the simulated board did not boot\n".utf8))
            throw ExitCode(3)
        }
        print("""
        simulated i.MX8M Plus is up (seed \(seed), faults: \(config.faults.isEmpty ? "none" : config.faults.map { "\($0.kind.rawValue) every \($0.mtbf)" }.joined(separator: ", ")))
          rpmsg tty:   \(directory)/ttyRPMSG30
          M7 UART:     \(directory)/ttyM7UART
          kernel log:  \(directory)/kmsg
          power:       echo 'power cycle' > \(directory)/control
          remoteproc:  echo stop > \(directory)/remoteproc/state   (then: echo start)
        """)
        fflush(nil)
        var lastFaults = 0
        while !stopRequested.load(ordering: .relaxed) {
            usleep(100_000)
            let st = sim.status
            if st.faults.count > lastFaults {
                for f in st.faults[lastFaults...] { print("fault: \(f.rawValue)") }
                lastFaults = st.faults.count
                fflush(nil)
            }
        }
        sim.stop()
        print("simulated board stopped after \(sim.status.messagesProcessed) messages")
    }
}

extension SoakDuration {
    static func + (a: SoakDuration, b: SoakDuration) -> SoakDuration { SoakDuration(nanoseconds: a.nanoseconds + b.nanoseconds) }
}
