import Foundation
import Logging
import Models
import Synchronization

/// Writes one JSON object per line to stdout: `{"ts":…,"level":…,"logger":…,"msg":…, metadata…}`.
///
/// Logs must never carry an email address or a name: pass ids, counts and codes as metadata.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Self.quote(Timestamp.format(Date()))),
            ("level", Self.quote(event.level.rawValue)),
            ("logger", Self.quote(label)),
            ("msg", Self.quote(event.message.description)),
        ]
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() {
            fields.append((key, Self.json(merged[key]!)))
        }
        let line = "{" + fields.map { "\(Self.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}\n"
        Self.output.withLock { _ in
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }

    private static let output = Mutex(())

    private static func json(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): quote(string)
        case .stringConvertible(let convertible): quote(convertible.description)
        case .array(let array): "[" + array.map(json).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.keys.sorted().map { "\(quote($0)):\(json(dictionary[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
