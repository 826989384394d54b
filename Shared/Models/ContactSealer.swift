import Crypto
import Foundation

/// Seals a consenting signer's e-mail address for storage (AES-256-GCM) and opens it again. The keys come
/// from the environment (`UNDERSIGNED_DATA_KEYS`, never the repository), each with a one-byte id kept in
/// front of the sealed box, so keys can be rotated: add a key with a higher id (new addresses use it), keep
/// the old one until nothing sealed with it remains. The signer key is authenticated with the box, so a
/// sealed address cannot be moved to another signer's row.
public struct ContactSealer: @unchecked Sendable {  // SymmetricKey is immutable once made
    private let keys: [UInt8: SymmetricKey]
    public let currentID: UInt8

    /// `1:<64 hex digits or base64 of 32 bytes>,2:<…>` (or one key alone, which gets id 1).
    public init(keys text: String) throws(ValidationProblem) {
        var keys: [UInt8: SymmetricKey] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", maxSplits: 1).map { $0.trimmingWhitespace() }
            let (id, material): (UInt8?, String) = parts.count == 2 ? (UInt8(parts[0]), parts[1]) : (1, parts[0])
            guard let id, id > 0, let bytes = Self.bytes(material), bytes.count == 32 else {
                throw ValidationProblem(field: "UNDERSIGNED_DATA_KEYS", reason: "each key is ID:KEY with ID 1-255 and KEY 32 bytes (64 hex digits or base64)")
            }
            keys[id] = SymmetricKey(data: bytes)
        }
        guard let current = keys.keys.max() else {
            throw ValidationProblem(field: "UNDERSIGNED_DATA_KEYS", reason: "names no key")
        }
        self.keys = keys
        currentID = current
    }

    public func seal(_ email: String, signerKey: SignerKey) throws -> [UInt8] {
        let box = try AES.GCM.seal(Array(email.utf8), using: keys[currentID]!, authenticating: signerKey.bytes)
        return [currentID] + Array(box.combined!)
    }

    /// The address, or nil when the box was not sealed for this signer with a key we have.
    public func open(_ sealed: [UInt8], signerKey: SignerKey) -> String? {
        guard let id = sealed.first, let key = keys[id], let box = try? AES.GCM.SealedBox(combined: sealed.dropFirst()),
              let plain = try? AES.GCM.open(box, using: key, authenticating: signerKey.bytes) else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }

    private static func bytes(_ text: String) -> [UInt8]? {
        if text.count == 64, text.allSatisfy(\.isHexDigit) {
            var bytes: [UInt8] = []
            var index = text.startIndex
            while index < text.endIndex {
                let next = text.index(index, offsetBy: 2)
                bytes.append(UInt8(text[index..<next], radix: 16)!)
                index = next
            }
            return bytes
        }
        return Data(base64Encoded: text).map(Array.init)
    }
}
