import Delivery
import Foundation
import Logging
import ServiceSupport

do {
    let configuration = try DeliveryConfiguration(environment: ProcessInfo.processInfo.environment)
    Observability.bootstrap(level: configuration.common.logLevel)
    try await DeliveryService.build(configuration: configuration, logger: Logger(label: "undersigned.delivery")).runService()
} catch let error as ConfigurationError {
    FileHandle.standardError.write(Data("undersigned-delivery: \(error)\n".utf8))
    exit(78)  // EX_CONFIG
}
