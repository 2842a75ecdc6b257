import Foundation
import Testing
@testable import SoakCore

@Suite("A link over ssh in a board file")
struct SshLinkConfigTests {
    static let board = """
        name: lab
        link: {ssh: root@imx8mp-01, device: /dev/ttyRPMSG30, ssh_options: [-p, "2222", -i, key]}
        """

    @Test("ssh, device and ssh_options make the ssh location, described as check prints it")
    func parses() throws {
        let b = try ConfigLoader.parseBoard(text: Self.board, file: "board.yaml")
        #expect(b.link.location == .ssh(SshTarget(destination: "root@imx8mp-01", device: "/dev/ttyRPMSG30",
                                                   options: ["-p", "2222", "-i", "key"])))
        #expect("\(b.link.location)" == "root@imx8mp-01:/dev/ttyRPMSG30 over ssh")
        #expect(b.kernelLog == .ssh(path: "/dev/kmsg"), "the board's own /dev/kmsg over the link's connection, not the host's")
        #expect(!b.isSimulated && b.power == nil && b.uart == nil)
    }

    @Test("mistakes name file, line and column")
    func errors() {
        let noDevice = boardError("name: lab\nlink:\n  ssh: root@imx8mp-01\n")
        #expect(noDevice?.description.hasPrefix("board.yaml:3:3") == true, "\(String(describing: noDevice))")
        #expect(noDevice?.message.contains("ssh needs device") == true, "\(String(describing: noDevice))")
        let unknown = boardError("name: lab\nlink:\n  ssh: root@imx8mp-01\n  device: /dev/ttyRPMSG30\n  ssh_opts: [-p, '22']\n")
        #expect(unknown?.line == 5 && unknown?.key.contains("ssh_opts") == true, "\(String(describing: unknown))")
        let relative = boardError("name: lab\nlink: {ssh: root@b, device: ttyRPMSG30}\n")
        #expect(relative?.line == 2 && relative?.message.contains("absolute path of the tty on the board") == true)
        let option = boardError("name: lab\nlink: {ssh: -oProxyCommand=x, device: /dev/ttyRPMSG30}\n")
        #expect(option?.message.contains("ssh destination") == true)
        let withMatch = boardError("name: lab\nlink: {ssh: root@b, device: /dev/ttyRPMSG30, match: {A: b}}\n")
        #expect(withMatch?.key.contains("match") == true)
        let optionsAlone = boardError("name: lab\nlink: {device: /dev/ttyUSB0, ssh_options: [-p, '22']}\n")
        #expect(optionsAlone?.key.contains("ssh_options") == true)
        let simUart = boardError(Self.board + "\nuart: {device: sim}\n")
        #expect(simUart != nil)
    }

    @Test("kernel_log source ssh: the board's /dev/kmsg by default, or the path given, on the board")
    func kernelLogOverSsh() throws {
        let explicit = try ConfigLoader.parseBoard(text: Self.board + "\nkernel_log: {source: ssh}\n", file: "board.yaml")
        #expect(explicit.kernelLog == .ssh(path: "/dev/kmsg"))
        #expect(explicit.kernelLog?.source == .ssh && explicit.kernelLog?.path == "/dev/kmsg")
        let file = try ConfigLoader.parseBoard(text: Self.board + "\nkernel_log:\n  source: ssh\n  path: /var/log/kmsg.log\n", file: "board.yaml")
        #expect(file.kernelLog == .ssh(path: "/var/log/kmsg.log"))
        let none = try ConfigLoader.parseBoard(text: Self.board + "\nkernel_log: {source: none}\n", file: "board.yaml")
        #expect(none.kernelLog == .unwatched)
    }

    @Test("kernel_log source ssh needs a link over ssh; kmsg on an ssh link would be the lab host's")
    func kernelLogErrors() {
        let local = boardError("name: lab\nlink: {device: /dev/ttyUSB0}\nkernel_log: {source: ssh}\n")
        #expect(local?.description.hasPrefix("board.yaml:3:22") == true, "\(String(describing: local))")
        #expect(local?.message.contains("not over ssh") == true, "\(String(describing: local))")
        let kmsg = boardError(Self.board + "\nkernel_log:\n  source: kmsg\n")
        #expect(kmsg?.line == 4, "\(String(describing: kmsg))")
        #expect(kmsg?.message.contains("lab host") == true && kmsg?.message.contains("source: ssh") == true, "\(String(describing: kmsg))")
        let relative = boardError(Self.board + "\nkernel_log: {source: ssh, path: kmsg}\n")
        #expect(relative?.line == 3 && relative?.message.contains("absolute path") == true, "\(String(describing: relative))")
    }

    @Test("kernel_log ssh in a timeline is flat JSON with its path; timelines without it read as before")
    func kernelLogJSON() throws {
        let b = try ConfigLoader.parseBoard(text: Self.board + "\nkernel_log: {source: ssh, path: /var/log/kmsg.log}\n", file: "board.yaml")
        let json = try BoardTimelineCompatibilityTests.timelineJSON(b)
        #expect(json.contains(#""kernel_log":{"path":"/var/log/kmsg.log","source":"ssh"}"#), "\(json)")
        #expect(try BoardTimelineCompatibilityTests.decodeTimelineBoard(json) == b)
        // Without a path (a hand-written timeline): the default.
        let bare = json.replacingOccurrences(of: #""kernel_log":{"path":"/var/log/kmsg.log","source":"ssh"}"#, with: #""kernel_log":{"source":"ssh"}"#)
        #expect(try BoardTimelineCompatibilityTests.decodeTimelineBoard(bare).kernelLog == .ssh(path: "/dev/kmsg"))
        // An ssh board from before: kernel_log none, as the loader made it then.
        let old = #"{"kernel_log":{"source":"none"},"link":{"device":"/dev/ttyRPMSG30","setup":[],"setup_timeout":"30s","ssh":"root@imx8mp-01"},"name":"lab"}"#
        let decoded = try BoardTimelineCompatibilityTests.decodeTimelineBoard(old)
        #expect(decoded.kernelLog == .unwatched)
        #expect(try BoardTimelineCompatibilityTests.timelineJSON(decoded) == old)
    }

    @Test("a glob on the board is kept as written; the board's shell resolves it")
    func glob() throws {
        let b = try ConfigLoader.parseBoard(text: "name: lab\nlink: {ssh: root@b, device: /dev/ttyRPMSG*}\n", file: "board.yaml")
        guard case .ssh(let target) = b.link.location else { Issue.record("not ssh: \(b.link.location)"); return }
        #expect(target.device == "/dev/ttyRPMSG*" && target.deviceIsGlob)
        #expect(try BoardTimelineCompatibilityTests.timelineJSON(b).contains(#""device":"/dev/ttyRPMSG*""#))
        let classes = try ConfigLoader.parseBoard(text: "name: lab\nlink: {ssh: root@b, device: '/dev/tty_RPMSG-[0-9]?.x'}\n", file: "board.yaml")
        #expect(classes.link.location.device == "/dev/tty_RPMSG-[0-9]?.x")
    }

    @Test("a glob with a character the board's shell would read as more than a pattern is refused at its place")
    func unsafeGlob() {
        for bad in ["/dev/ttyRPMSG*;reboot", "/dev/tty$(x)*", "/dev/tty RPMSG*", "/dev/tty[!0]*", "/dev/tty'*"] {
            let quoted = "'" + bad.replacingOccurrences(of: "'", with: "''") + "'"
            let e = boardError("name: lab\nlink:\n  ssh: root@b\n  device: \(quoted)\n")
            #expect(e?.description.hasPrefix("board.yaml:4:11") == true, "\(bad): \(String(describing: e))")
            #expect(e?.message.contains("a glob on the board may hold only letters, digits") == true, "\(bad): \(String(describing: e))")
        }
        // Without glob characters the path is quoted for the board's shell, whatever it holds.
        #expect(boardError("name: lab\nlink: {ssh: root@b, device: \"/dev/tty RPMSG$1\"}\n") == nil)
    }

    @Test("its JSON adds ssh and ssh_options to the link, and reads back")
    func json() throws {
        let b = try ConfigLoader.parseBoard(text: Self.board, file: "board.yaml")
        let json = try BoardTimelineCompatibilityTests.timelineJSON(b)
        #expect(json.contains(#""link":{"device":"/dev/ttyRPMSG30","setup":[],"setup_timeout":"30s","ssh":"root@imx8mp-01","ssh_options":["-p","2222","-i","key"]}"#), "\(json)")
        #expect(try BoardTimelineCompatibilityTests.decodeTimelineBoard(json) == b)
        var plain = b
        plain.link.location = .ssh(SshTarget(destination: "b", device: "/dev/ttyRPMSG30"))
        #expect(!(try BoardTimelineCompatibilityTests.timelineJSON(plain)).contains("ssh_options"))
    }
}
