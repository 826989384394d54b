/// A field of a signature (or a request) that is not acceptable, and why.
///
/// `field` names the field as the client sent it (`email`, `country`, `signatures[3].name`); `reason` says
/// what is wrong in words a person can act on. Neither ever contains the submitted value.
public struct ValidationProblem: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}
