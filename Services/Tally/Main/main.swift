import Foundation
import Logging
import ServiceSupport
import Tally

do {
    let configuration = try TallyConfiguration(environment: ProcessInfo.processInfo.environment)
    Observability.bootstrap(level: configuration.common.logLevel)
    try await TallyService.build(configuration: configuration, logger: Logger(label: "undersigned.tally")).runService()
} catch let error as ConfigurationError {
    FileHandle.standardError.write(Data("undersigned-tally: \(error)\n".utf8))
    exit(78)  // EX_CONFIG
}
