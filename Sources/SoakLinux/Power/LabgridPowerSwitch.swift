import SoakCore

/// The power of a labgrid place: `labgrid-client -p PLACE power on|off` (whatever the place's
/// power resource is: a PDU, a USB relay, NetworkSysfsGPIO, a REST relay).
public final class LabgridPowerSwitch: PowerSwitch {
    public let place: LabgridPlace
    public let timeout: SoakDuration
    public var name: String { "labgrid \(place.place)" }

    public init(place: LabgridPlace, timeout: SoakDuration = .seconds(60)) {
        self.place = place
        self.timeout = timeout
    }

    public func on() throws(RecoveryFailure) { try place.power("on", timeout: timeout) }
    public func off() throws(RecoveryFailure) { try place.power("off", timeout: timeout) }

    /// Whether the place's power is on (`power get`).
    public func isOn() throws(RecoveryFailure) -> Bool { try place.power("get", timeout: timeout) }
}
