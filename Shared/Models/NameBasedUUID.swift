import Crypto
import Foundation

/// Deterministic UUIDs from a namespace and a name (RFC 9562 version 8 layout, SHA-256 based).
enum NameBasedUUID {
    static func make(namespace: String, name: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Array((namespace + "\u{0}" + name).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC variant
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }
}
