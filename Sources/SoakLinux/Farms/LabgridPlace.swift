import Foundation
import Glibc
import SoakCore

/// A labgrid place, through labgrid's own client (`labgrid-client -x COORDINATOR -p PLACE ...`):
/// acquired for a run (or used when this user holds it already), its resources read, its power
/// switched, and released on every exit path the tester controls. The coordinator, exporters
/// and their ser2net, PDUs and relays are labgrid's business: any power backend labgrid knows
/// works without a line of ours. `LG_PROXY` in the environment reaches labgrid-client as it is.
public final class LabgridPlace: @unchecked Sendable {
    /// The place's name, or `+TOKEN` for the place a reservation was given.
    public let place: String
    public let coordinator: String?
    /// The reservation this run made (`--reserve`), cancelled at the end.
    public private(set) var reservation: String?
    /// The place's own name, once the coordinator said it (a reserved place is `+TOKEN` before).
    public private(set) var name: String
    /// The labgrid-client program, found.
    public let client: String
    /// The run acquired the place (and releases it); false: the user held it already.
    public private(set) var acquiredHere = false
    private let lock = NSLock()

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// - environment: where `LG_PLACE` and `LG_COORDINATOR` come from when the board file does
    ///   not name them, and PATH for labgrid-client.
    public init(config: LabgridConfig, environment: [String: String] = ProcessInfo.processInfo.environment,
                reservedAs token: String? = nil) throws(Failure) {
        guard let place = token.map({ "+\($0)" }) ?? config.place ?? environment["LG_PLACE"], !place.isEmpty else {
            throw Failure(message: "labgrid: no place: name it in the board file (labgrid: {place: NAME}) or in LG_PLACE")
        }
        self.place = place
        coordinator = config.coordinator ?? environment["LG_COORDINATOR"]
        guard let found = Self.find(config.client, path: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw Failure(message: "labgrid: \(config.client) not found (on PATH: \(environment["PATH"] ?? "")); install labgrid (pip install labgrid) or give its path as labgrid.client")
        }
        client = found
        reservation = token
        name = place
    }

    /// Reserves a place with `tags` (`board=imx8mp`) and waits up to `timeout` for the
    /// coordinator to allocate one (`labgrid-client reserve --wait`); the place is then this
    /// reservation's (`+TOKEN`), acquired like any other, and the reservation is cancelled by
    /// `release()`.
    public static func reserve(config: LabgridConfig, tags: [String], timeout: SoakDuration,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(Failure) -> LabgridPlace {
        var unplaced = config
        unplaced.place = unplaced.place ?? "-"
        let asker = try LabgridPlace(config: unplaced, environment: environment)
        // Reserve first (the token at once), then wait for it: a wait that times out can cancel
        // its reservation instead of leaving it queued at the coordinator.
        let r = asker.run(["reserve", "--shell"] + tags, withPlace: false)
        guard r.status == 0 else { throw Failure(message: "labgrid: cannot reserve a place with \(tags.joined(separator: " ")): \(complaint(r.errors))") }
        guard let line = r.output.split(whereSeparator: \.isNewline).first(where: { $0.contains("LG_TOKEN=") }),
              let token = line.split(separator: "=").last.map({ String($0).trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")) }),
              !token.isEmpty else {
            throw Failure(message: "labgrid: reserve gave no token: \(r.output.prefix(200))")
        }
        let waited = asker.run(["wait", token], timeout: timeout, withPlace: false)
        guard waited.status == 0 else {
            _ = asker.run(["cancel-reservation", token], withPlace: false)
            let why = waited.status == nil ? "no place with \(tags.joined(separator: " ")) became free within \(timeout)" : complaint(waited.errors)
            throw Failure(message: "labgrid: cannot reserve a place with \(tags.joined(separator: " ")): \(why) (reservation \(token) cancelled)")
        }
        return try LabgridPlace(config: config, environment: environment, reservedAs: token)
    }

    static func find(_ program: String, path: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for dir in path.split(separator: ":") where access("\(dir)/\(program)", X_OK) == 0 { return "\(dir)/\(program)" }
        return nil
    }

    public var description: String {
        "labgrid place \(lock.withLock { name })" + (coordinator.map { " at \($0)" } ?? "") + (reservation.map { " (reservation \($0))" } ?? "")
    }

    /// labgrid-client with the coordinator and place, then `arguments`.
    func arguments(_ arguments: [String], withPlace: Bool = true) -> [String] {
        (coordinator.map { ["-x", $0] } ?? []) + (withPlace ? ["-p", place] : []) + arguments
    }

    /// Runs labgrid-client; its status (nil when it had to be killed), output and errors.
    /// - verbose: `-v`, which goes before the coordinator and place.
    func run(_ args: [String], timeout: SoakDuration = .seconds(60), verbose: Bool = false, withPlace: Bool = true) -> (status: Int32?, output: String, errors: String) {
        var template = Array("/tmp/rpmsg-soak-labgrid.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { return (nil, "", "cannot make a temporary folder: \(Errno.current)") }
        let dir = String(cString: made)
        defer {
            unlink("\(dir)/out"); unlink("\(dir)/err"); rmdir(dir)
        }
        let child: ChildProcess
        do {
            child = try ChildProcess(client, (verbose ? ["-v"] : []) + arguments(args, withPlace: withPlace), stdin: .null,
                                     stdout: .file("\(dir)/out"), stderr: .file("\(dir)/err"))
        } catch {
            return (nil, "", "cannot start \(client): \(ErrorText.describe(error))")
        }
        let end = child.wait(upTo: timeout.nanoseconds)
        if end == nil { child.killAndReap() }
        var status: Int32?
        if case .exited(let code)? = end { status = code }
        return (status, SshConnection.contents(ofFile: "\(dir)/out"), SshConnection.contents(ofFile: "\(dir)/err"))
    }

    /// The last line labgrid-client said on stderr (its error), without a traceback.
    static func complaint(_ errors: String) -> String {
        let lines = errors.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.last ?? "no message"
    }

    /// Who holds the place now (`host/user`), or nil when nobody does.
    public func holder() throws(Failure) -> String? {
        let r = run(["show"])
        guard r.status == 0 else { throw Failure(message: "labgrid: \(description): show failed: \(Self.complaint(r.errors))") }
        for line in r.output.split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("Place '"), text.hasSuffix("':") {
                let named = String(text.dropFirst("Place '".count).dropLast(2))
                lock.withLock { name = named }
            }
            if text.hasPrefix("acquired:") {
                let who = text.dropFirst("acquired:".count).trimmingCharacters(in: .whitespaces)
                return who.isEmpty || who == "None" ? nil : who
            }
        }
        return nil
    }

    /// This process as labgrid names a holder: `host/user` (`LG_USERNAME` overrides the user).
    static var ourselves: String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        let user = ProcessInfo.processInfo.environment["LG_USERNAME"] ?? (getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "?")
        return "\(String(cString: host))/\(user)"
    }

    /// Acquires the place, or uses it when this user holds it already (then it is not released
    /// at the end). Says what it did.
    public func acquire() throws(Failure) -> String {
        if let who = try holder() {
            guard who == Self.ourselves else {
                throw Failure(message: "labgrid: \(description) is acquired by \(who); release it (labgrid-client -p \(place) release) or wait for it")
            }
            return "\(description): already acquired by \(who), used as it is (and not released at the end)"
        }
        let r = run(["acquire"])
        guard r.status == 0 else { throw Failure(message: "labgrid: cannot acquire \(description): \(Self.complaint(r.errors))") }
        lock.withLock { acquiredHere = true }
        return "\(description) acquired"
    }

    /// Releases the place when this run acquired it, and cancels the run's reservation; says
    /// what it did, or why it could not.
    public func release() -> String? {
        var said: [String] = []
        if lock.withLock({ acquiredHere }) {
            let r = run(["release"])
            if r.status == 0 {
                lock.withLock { acquiredHere = false }
                said.append("\(description) released")
            } else {
                said.append("labgrid: could not release \(description): \(Self.complaint(r.errors)); release it with labgrid-client -p \(place) release")
            }
        }
        if let token = lock.withLock({ reservation }) {
            let r = run(["cancel-reservation", token], withPlace: false)
            if r.status == 0 {
                lock.withLock { reservation = nil }
                said.append("reservation \(token) cancelled")
            } else {
                said.append("labgrid: could not cancel reservation \(token): \(Self.complaint(r.errors))")
            }
        }
        return said.isEmpty ? nil : said.joined(separator: "; ")
    }

    // MARK: resources

    /// One resource of the acquired place, as the exporter describes it.
    public struct Resource: Sendable {
        /// `NetworkService`, `NetworkSerialPort`, `NetworkPowerPort`, ...
        public var cls: String
        /// Its name in the place (`RawSerialPort`, `NetworkService`).
        public var name: String
        /// Its parameters, as strings (`address`, `port`, `username`, `host`).
        public var params: [String: String]
    }

    /// `labgrid-client show` prints each acquired resource of the place as `Acquired resource
    /// 'NAME' (PATH):` and a Python dict; python3 (labgrid's own interpreter is one) turns them
    /// into JSON.
    static let resourceFilter = """
        import ast, json, re, sys
        text = sys.stdin.read(); out = []
        for m in re.finditer(r"^Acquired resource '([^']*)' \\(([^)]*)\\):\\n((?:[ \\t]+.*\\n?)+)", text, re.M):
            d = ast.literal_eval(m.group(3).strip())
            params = {k: str(v) for k, v in (d.get('params') or {}).items() if not isinstance(v, dict)}
            out.append({'name': m.group(1), 'path': m.group(2), 'cls': d.get('cls', ''), 'params': params})
        print(json.dumps(out))
        """

    /// The resources of the place (it must be acquired).
    public func resources() throws(Failure) -> [Resource] {
        let listing = run(["show"])
        guard listing.status == 0 else { throw Failure(message: "labgrid: \(description): show failed: \(Self.complaint(listing.errors))") }
        guard let python = Self.find("python3", path: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") else {
            throw Failure(message: "labgrid: python3 is needed to read labgrid-client's resource listing")
        }
        let json = Self.filter(listing.output, python: python)
        guard let data = json.data(using: .utf8), let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw Failure(message: "labgrid: \(description): cannot read the resource listing of labgrid-client")
        }
        return list.map { Resource(cls: $0["cls"] as? String ?? "", name: $0["name"] as? String ?? "",
                                   params: $0["params"] as? [String: String] ?? [:]) }
    }

    /// Runs the resource filter on `text`.
    static func filter(_ text: String, python: String) -> String {
        var template = Array("/tmp/rpmsg-soak-labgrid.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { return "" }
        let dir = String(cString: made)
        defer { for f in ["in", "out", "err"] { unlink("\(dir)/\(f)") }; rmdir(dir) }
        guard (try? text.write(toFile: "\(dir)/in", atomically: false, encoding: .utf8)) != nil,
              let input = try? FileDescriptor.open("\(dir)/in", .readOnly, options: .closeOnExec) else { return "" }
        defer { input.close() }
        guard let child = try? ChildProcess(python, ["-c", resourceFilter], stdin: .descriptor(input),
                                            stdout: .file("\(dir)/out"), stderr: .file("\(dir)/err")) else { return "" }
        guard child.wait(upTo: 30_000_000_000) == .exited(0) else { child.killAndReap(); return "" }
        return SshConnection.contents(ofFile: "\(dir)/out")
    }

    // MARK: power

    /// `labgrid-client power on|off|get`; `get` answers whether it is on.
    @discardableResult
    public func power(_ action: String, timeout: SoakDuration = .seconds(60)) throws(RecoveryFailure) -> Bool {
        let r = run(["power", action], timeout: timeout)
        guard r.status == 0 else {
            throw RecoveryFailure("labgrid-client -p \(place) power \(action): " + (r.status == nil ? "still running after \(timeout); stopped" : Self.complaint(r.errors)))
        }
        return r.output.contains(" is on")
    }

    // MARK: the board file, resolved

    /// The board with the place's resources in place of its `labgrid` devices: the link over
    /// ssh to the NetworkService (its user, address and port; `LG_PROXY` as ssh's ProxyJump),
    /// the UART over TCP to the NetworkSerialPort (ser2net). The place must be acquired.
    /// Missing resources are named.
    public func resolve(_ board: BoardConfig, environment: [String: String] = ProcessInfo.processInfo.environment) throws(Failure) -> BoardConfig {
        let found = try resources()
        var resolved = board
        if case .labgrid(let device, let options) = board.link.location {
            guard let service = found.first(where: { $0.cls == "NetworkService" }), let address = service.params["address"] else {
                throw Failure(message: "labgrid: \(description) has no NetworkService: the board's tty is reached over ssh to it (resources: \(Self.names(found)))")
            }
            var sshOptions: [String] = []
            if let port = service.params["port"], port != "22" { sshOptions += ["-p", port] }
            if let proxy = environment["LG_PROXY"], !proxy.isEmpty { sshOptions += ["-o", "ProxyJump=\(proxy)"] }
            let user = service.params["username"].map { "\($0)@" } ?? ""
            resolved.link.location = .ssh(SshTarget(destination: user + address, device: device, options: sshOptions + options))
        }
        if var uart = board.uart, case .labgrid(let name, _) = uart.location {
            let ports = found.filter { $0.cls == "NetworkSerialPort" && (name.isEmpty || $0.name == name) }
            guard let port = ports.first, let host = port.params["host"], let number = port.params["port"].flatMap(Int.init) else {
                throw Failure(message: "labgrid: \(description) has no NetworkSerialPort\(name.isEmpty ? "" : " named \(name)") for the M7 UART (resources: \(Self.names(found)))")
            }
            uart.location = .tcp(host: host, port: number)
            resolved.uart = uart
        }
        if case .labgrid? = board.power?.via, !found.contains(where: { $0.cls.hasSuffix("PowerPort") || $0.cls.contains("Power") }) {
            throw Failure(message: "labgrid: \(description) has no power resource for power: {kind: labgrid} (resources: \(Self.names(found)))")
        }
        return resolved
    }

    static func names(_ resources: [Resource]) -> String {
        resources.isEmpty ? "none" : resources.map { "\($0.cls) \($0.name)" }.joined(separator: ", ")
    }
}
