import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The delivery spool: where packages (names, countries, postal codes) are built before they are sent.
/// It is this instance's alone and private: a directory only its user can enter (0700, refused if
/// another user owns it, as a directory someone made beforehand in a shared /tmp would be), so no other
/// user reaches a file in it. What an instance killed mid-attempt left there is removed at start; each
/// attempt removes its own package when it is over.
enum Spool {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The names the spool's own files take (packages, their partial builds, verification mails).
    static let ownPrefixes = ["delivery-", ".building-", ".verify-"]

    static func prepare(_ spool: URL) throws {
        let path = spool.path
        do {
            try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(description: "UNDERSIGNED_DELIVERY_SPOOL: cannot make \(path): \(error.localizedDescription)")
        }
        var status = stat()
        guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            throw Failure(description: "UNDERSIGNED_DELIVERY_SPOOL: \(path) is not a directory")
        }
        guard status.st_uid == geteuid() else {
            throw Failure(description: "UNDERSIGNED_DELIVERY_SPOOL: \(path) belongs to another user; give delivery a directory of its own")
        }
        guard chmod(path, 0o700) == 0 else {
            throw Failure(description: "UNDERSIGNED_DELIVERY_SPOOL: cannot make \(path) private (chmod 0700)")
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where ownPrefixes.contains(where: name.hasPrefix) {
            try? FileManager.default.removeItem(atPath: spool.appendingPathComponent(name).path)
        }
    }
}
