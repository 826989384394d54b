import ServiceSupport

/// Delivery's settings, read once at start from `UNDERSIGNED_*` environment variables.
public struct DeliveryConfiguration: Sendable {
    public var common: CommonConfiguration
    /// `UNDERSIGNED_DELIVERY_OPS_PORT`: health and metrics, default 8083.
    public var opsPort: Int
    /// `UNDERSIGNED_WEBHOOK_RETRY_BASE_MS` (default 2 s, doubling per attempt up to 5 min) and
    /// `UNDERSIGNED_WEBHOOK_GIVE_UP_MS` (default 24 h): how webhook calls are retried, and for how long.
    public var webhookRetryBase: Duration = .seconds(2)
    public var webhookGiveUp: Duration = .seconds(86_400)

    public init(common: CommonConfiguration, opsPort: Int = 8083) {
        self.common = common
        self.opsPort = opsPort
    }

    public init(environment: [String: String]) throws {
        let reader = ConfigurationReader(environment: environment)
        self.init(
            common: CommonConfiguration(service: "delivery", reader: reader),
            opsPort: reader.port("UNDERSIGNED_DELIVERY_OPS_PORT", default: 8083))
        webhookRetryBase = reader.milliseconds("UNDERSIGNED_WEBHOOK_RETRY_BASE_MS", default: .seconds(2), in: 10...3_600_000)
        webhookGiveUp = reader.milliseconds("UNDERSIGNED_WEBHOOK_GIVE_UP_MS", default: .seconds(86_400), in: 100...2_592_000_000)
        try reader.finish()
    }
}
