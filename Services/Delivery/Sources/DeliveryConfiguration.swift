import ServiceSupport

/// Delivery's settings, read once at start from `UNDERSIGNED_*` environment variables.
public struct DeliveryConfiguration: Sendable {
    public var common: CommonConfiguration
    /// `UNDERSIGNED_DELIVERY_OPS_PORT`: health and metrics, default 8083.
    public var opsPort: Int

    public init(common: CommonConfiguration, opsPort: Int = 8083) {
        self.common = common
        self.opsPort = opsPort
    }

    public init(environment: [String: String]) throws {
        let reader = ConfigurationReader(environment: environment)
        self.init(
            common: CommonConfiguration(service: "delivery", reader: reader),
            opsPort: reader.port("UNDERSIGNED_DELIVERY_OPS_PORT", default: 8083))
        try reader.finish()
    }
}
