import Foundation
import Intake
import Logging
import ServiceSupport

do {
    let configuration = try IntakeConfiguration(environment: ProcessInfo.processInfo.environment)
    Observability.bootstrap(level: configuration.common.logLevel)
    let logger = Logger(label: "undersigned.intake")
    try await IntakeService.build(configuration: configuration, logger: logger).runService()
} catch let error as ConfigurationError {
    FileHandle.standardError.write(Data("undersigned-intake: \(error)\n".utf8))
    exit(78)  // EX_CONFIG
}
