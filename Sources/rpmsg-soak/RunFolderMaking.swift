import Foundation
import Glibc
import SoakCore
import SoakLinux
import SoakReports

/// The run folder: made from a safe form of the profile name inside --out (or --run-dir), its
/// timeline opened, `latest` repointed; on a failure everything made for it removed again.
extension SoakSession {
    /// Why no run folder could be made, in one line.
    struct FolderProblem: Error { var text: String }

    /// The run folder with its timeline open, or why not. On failure everything made here is
    /// removed again (exit 2 touches nothing). Under --out the folder is named from the safe
    /// form of the profile name and `latest` is pointed at it once the timeline is open.
    func openRunFolder(start: Date) -> Result<(String, TimelineWriter), FolderProblem> {
        let option = runDirectory == nil ? "--out \(outDirectory)" : "--run-dir \(runDirectory!)"
        var made = MadeDirectories()
        func fail(_ text: String) -> Result<(String, TimelineWriter), FolderProblem> {
            made.undo()
            return .failure(FolderProblem(text: "\(option): \(text)"))
        }
        let folder: String
        if let dir = runDirectory {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
                guard isDir.boolValue else { return fail("is a file, not a folder: give a new or empty folder") }
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
                guard entries.isEmpty else {
                    return fail("holds \(entries.count) file(s) already (\(entries.sorted().prefix(3).joined(separator: ", "))\(entries.count > 3 ? ", ..." : "")): give a new or empty folder; a run never mixes its files with another's")
                }
            } else if let problem = made.make(dir) {
                return fail("cannot create the run folder: \(problem)")
            }
            folder = dir
        } else {
            if let problem = made.make(outDirectory) {
                return fail("cannot create a run folder there: \(problem)")
            }
            let stamp = WallTime.iso8601(start).prefix(19).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
            let base = "\(RunFolder.safeName(plan.profile.name))-\(stamp)"
            var name = base
            var n = 1
            while true {
                if mkdir("\(outDirectory)/\(name)", 0o755) == 0 { break }
                let code = errno
                guard code == EEXIST, n < 1000 else {
                    return fail("cannot create a run folder there: \(made.describe(code, at: "\(outDirectory)/\(name)"))")
                }
                n += 1
                name = "\(base)-\(n)"
            }
            made.created.append("\(outDirectory)/\(name)")
            folder = "\(outDirectory)/\(name)"
        }
        let timeline: TimelineWriter
        do {
            timeline = try TimelineWriter(path: "\(folder)/\(RunFolder.timelineName)",
                                          syncInterval: plan.profile.timelineSync ?? Profile.defaultTimelineSync)
        } catch {
            return fail("cannot create the timeline: \(ErrorText.reason(error))")
        }
        if runDirectory == nil {
            let latest = "\(outDirectory)/latest"
            unlink(latest)
            symlink((folder as NSString).lastPathComponent, latest)
        }
        return .success((folder, timeline))
    }
}

/// Directories made for a run, removed again (if still empty) when the run cannot start.
struct MadeDirectories {
    var created: [String] = []

    /// Makes `path` and its missing parents; nil, or why not in plain words.
    mutating func make(_ path: String) -> String? {
        var missing: [String] = []
        var p = path
        while !p.isEmpty && p != "/" && p != "." && !FileManager.default.fileExists(atPath: p) {
            missing.append(p)
            p = (p as NSString).deletingLastPathComponent
        }
        var isDir: ObjCBool = false
        if !p.isEmpty && p != "." && FileManager.default.fileExists(atPath: p, isDirectory: &isDir) && !isDir.boolValue {
            return "\(p) is a file, not a folder"
        }
        for dir in missing.reversed() {
            if mkdir(dir, 0o755) != 0 && errno != EEXIST { return describe(errno, at: dir) }
            created.append(dir)
        }
        if missing.isEmpty {
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return "\(path) cannot be looked at" }
            if !isDir.boolValue { return "\(path) is a file, not a folder" }
            if access(path, W_OK) != 0 { return "\(path): \(ErrorText.errnoText(errno))" }
        }
        return nil
    }

    func describe(_ code: Int32, at path: String) -> String {
        if code == ENOTDIR { return "a part of \(path) is a file, not a folder" }
        return "\(path): \(ErrorText.errnoText(code))"
    }

    /// Removes what was made, deepest first, with anything the run put in it (its timeline).
    func undo() {
        for dir in created.reversed() {
            unlink("\(dir)/\(RunFolder.timelineName)")
            rmdir(dir)
        }
    }
}
