/// The board file's `labgrid:` block: the board is a place of a labgrid lab. The run acquires
/// the place (or uses it when this user holds it already) and releases what it acquired; the
/// place's resources stand in for the board file's devices:
/// - `link: {device: /dev/ttyRPMSG30}`: the tty on the place's board, over ssh to the place's
///   NetworkService (the lab host mode);
/// - `uart: {baud: 115200}` without a device: the place's NetworkSerialPort (ser2net on the
///   exporter), read over TCP;
/// - `power: {kind: labgrid}`: the place's power resource through `labgrid-client power`.
public struct LabgridConfig: Sendable, Codable, Equatable {
    /// The place's name; nil: `LG_PLACE` at run time.
    public var place: String?
    /// `host:port` of the coordinator; nil: `LG_COORDINATOR`, else labgrid-client's default.
    public var coordinator: String?
    /// The labgrid-client to run (a path, or a name looked up on PATH).
    public var client: String

    public init(place: String? = nil, coordinator: String? = nil, client: String = "labgrid-client") {
        self.place = place
        self.coordinator = coordinator
        self.client = client
    }
}

extension ConfigLoader {
    /// The `labgrid:` block.
    static func parseLabgrid(_ node: YAMLReader) throws(ConfigError) -> LabgridConfig {
        let m = try node.mapping(allowed: ["place", "coordinator", "client"])
        var config = LabgridConfig()
        if let p = m.optional("place") {
            let place = try p.string()
            if place.isEmpty || place.hasPrefix("-") || place.contains(where: \.isWhitespace) {
                throw p.error("expected a labgrid place name such as imx8mp-01, found '\(place)'")
            }
            config.place = place
        }
        if let c = m.optional("coordinator") {
            let coordinator = try c.string()
            if coordinator.isEmpty || coordinator.hasPrefix("-") || coordinator.contains(where: \.isWhitespace) {
                throw c.error("expected the coordinator's host:port such as lab-coordinator:20408, found '\(coordinator)'")
            }
            config.coordinator = coordinator
        }
        if let c = m.optional("client") { config.client = try c.string() }
        return config
    }
}
