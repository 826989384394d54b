import AMQP
import Foundation

/// What is wrong with the environment, all problems at once, so an operator fixes them in one go.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var problems: [String]

    public var description: String {
        "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Reads typed settings from environment variables. Each read records a problem instead of throwing;
/// `finish()` throws them together. Values of secrets never appear in a problem.
public final class ConfigurationReader {
    private let environment: [String: String]
    private var problems: [String] = []

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Throws every problem found by the reads so far.
    public func finish() throws(ConfigurationError) {
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
    }

    /// Records a problem found by the caller (a value that reads well but does not make sense).
    public func problem(_ text: String) {
        problems.append(text)
    }

    public func string(_ name: String, default value: String) -> String {
        guard let raw = environment[name], !raw.isEmpty else { return value }
        return raw
    }

    public func optionalString(_ name: String) -> String? {
        guard let raw = environment[name], !raw.isEmpty else { return nil }
        return raw
    }

    public func int(_ name: String, default value: Int, in range: ClosedRange<Int> = Int.min...Int.max) -> Int {
        guard let raw = environment[name], !raw.isEmpty else { return value }
        guard let parsed = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(parsed) else {
            problems.append("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(raw)\"")
            return value
        }
        return parsed
    }

    /// A duration in milliseconds.
    public func milliseconds(_ name: String, default value: Duration, in range: ClosedRange<Int> = 0...86_400_000) -> Duration {
        let defaultMilliseconds = Int(value.components.seconds * 1000 + value.components.attoseconds / 1_000_000_000_000_000)
        return .milliseconds(int(name, default: defaultMilliseconds, in: range))
    }

    public func bool(_ name: String, default value: Bool) -> Bool {
        guard let raw = environment[name]?.lowercased(), !raw.isEmpty else { return value }
        switch raw {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            problems.append("\(name) must be true or false, not \"\(raw)\"")
            return value
        }
    }

    /// A TCP port; 0 asks the system for a free one (tests).
    public func port(_ name: String, default value: Int) -> Int {
        int(name, default: value, in: 0...65_535)
    }

    /// The broker from the URL in `name`. A service's own login may come apart from it (`UNDERSIGNED_AMQP_USER`
    /// and `UNDERSIGNED_AMQP_PASSWORD`, e.g. from a Secret the broker's setup job reads too), and
    /// `UNDERSIGNED_AMQP_DECLARE=false` says the login may configure nothing (see `declaresTopology`).
    public func amqp(_ name: String, default value: String, connectionName: String) -> AMQPConfiguration {
        let raw = string(name, default: value)
        var configuration: AMQPConfiguration
        do {
            configuration = try AMQPConfiguration(url: raw, connectionName: connectionName)
        } catch {
            problems.append("\(name) must be an amqp://user:password@host:port/vhost URL (\(error.message))")
            configuration = AMQPConfiguration(connectionName: connectionName)
        }
        if let user = optionalString("UNDERSIGNED_AMQP_USER") {
            configuration.user = user
            guard let password = optionalString("UNDERSIGNED_AMQP_PASSWORD") else {
                problems.append("UNDERSIGNED_AMQP_USER is set: UNDERSIGNED_AMQP_PASSWORD is required with it")
                return configuration
            }
            configuration.password = password
        }
        configuration.declaresTopology = bool("UNDERSIGNED_AMQP_DECLARE", default: true)
        return configuration
    }

    public func postgresURL(_ name: String, default value: String) -> String {
        let raw = string(name, default: value)
        guard raw.hasPrefix("postgresql://") || raw.hasPrefix("postgres://") || raw.contains("=") else {
            problems.append("\(name) must be a postgresql:// URL or a libpq connection string")
            return value
        }
        return raw
    }

    /// A required secret given as hex or base64 (at least `minimumBytes` bytes once decoded).
    /// Its value is never printed.
    public func secret(_ name: String, minimumBytes: Int = 32) -> [UInt8] {
        guard let raw = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else {
            problems.append("\(name) is required: a secret of at least \(minimumBytes) bytes, hex or base64 (e.g. `openssl rand -hex 32`)")
            return []
        }
        let bytes = Self.hex(raw) ?? Data(base64Encoded: raw).map(Array.init)
        guard let bytes, bytes.count >= minimumBytes else {
            problems.append("\(name) must be at least \(minimumBytes) bytes of hex or base64")
            return []
        }
        return bytes
    }

    public func logLevel(_ name: String = "UNDERSIGNED_LOG_LEVEL") -> LogLevelSetting {
        let raw = string(name, default: "info").lowercased()
        guard let level = LogLevelSetting(rawValue: raw) else {
            problems.append("\(name) must be one of trace, debug, info, notice, warning, error, critical")
            return .info
        }
        return level
    }

    private static func hex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0, utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }) else {
            return nil
        }
        return stride(from: 0, to: utf8.count, by: 2).map { UInt8(String(decoding: utf8[$0...$0 + 1], as: UTF8.self), radix: 16)! }
    }
}

public enum LogLevelSetting: String, Sendable {
    case trace, debug, info, notice, warning, error, critical
}
