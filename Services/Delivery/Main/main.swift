import Delivery
import ServiceSupport

await ServiceMain.run(
    "delivery", configuration: DeliveryConfiguration.init(environment:), logLevel: \.common.logLevel,
    application: { configuration, logger in try DeliveryService.build(configuration: configuration, logger: logger) })
